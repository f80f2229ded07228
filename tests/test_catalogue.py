"""The worker catalogue: loading, validation errors that name the field, and the dict round trip."""

import pytest

from orchestai_core.catalogue import Catalogue, load_catalogue


def test_bundled_catalogue_has_the_kinds_of_workers_a_fleet_needs():
    catalogue = load_catalogue()
    kinds = {w.kind for w in catalogue.workers}
    assert len(catalogue.workers) >= 8
    assert {"general-strong", "general-cheap", "code", "translation", "speech-to-text", "vision",
            "embedding"} <= kinds


def test_cost_and_latency_follow_prices_per_thousand_tokens():
    worker = load_catalogue().get("gpt-4o")
    assert worker.cost_usd(1000, 2000) == pytest.approx(worker.price_in_per_1k + 2 * worker.price_out_per_1k)
    assert worker.latency_ms(1000) == pytest.approx(worker.latency_base_ms + worker.latency_per_1k_out_ms)
    assert worker.quality_for("no-such-type") == worker.default_quality


def test_to_dict_and_back_gives_the_same_catalogue():
    catalogue = load_catalogue()
    assert Catalogue.from_dict(catalogue.to_dict()) == catalogue


def test_unknown_worker_error_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown worker 'nope'.*gpt-4o"):
        load_catalogue().get("nope")


@pytest.mark.parametrize("text, message", [
    ("workers: []", "non-empty 'workers' list"),
    ("workers:\n  - {kind: x, price_in_per_1k: 1, price_out_per_1k: 1, latency_base_ms: 1, latency_per_1k_out_ms: 1,"
     " default_quality: 0.5}", r"workers\[0\].name"),
    ("workers:\n  - {name: a, kind: x, price_in_per_1k: -1, price_out_per_1k: 1, latency_base_ms: 1,"
     " latency_per_1k_out_ms: 1, default_quality: 0.5}", r"workers\[0\].price_in_per_1k"),
    ("workers:\n  - {name: a, kind: x, price_in_per_1k: 1, price_out_per_1k: 1, latency_base_ms: 1,"
     " latency_per_1k_out_ms: 1, default_quality: 0.5, quality: {t: 2}}", r"workers\[0\].quality"),
    ("workers: [", "not valid YAML"),
])
def test_malformed_catalogue_names_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "workers.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_catalogue(path)
    assert str(path) in str(info.value)
