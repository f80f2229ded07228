"""The worker catalogue: loading, validation errors that name the field, and the dict round trip."""

import json

import pytest

from orchestai_core.catalogue import Catalogue, Worker, load_catalogue


def test_bundled_catalogue_has_the_kinds_of_workers_a_fleet_needs():
    catalogue = load_catalogue()
    kinds = {w.kind for w in catalogue.workers}
    assert len(catalogue.workers) >= 10
    assert {"general-strong", "general-cheap", "code", "translation", "speech-to-text", "vision",
            "embedding"} <= kinds


def test_cost_and_latency_follow_prices_per_thousand_tokens():
    worker = load_catalogue().get("gpt-4o")
    assert worker.cost_usd(1000, 2000) == pytest.approx(worker.price_in_per_1k + 2 * worker.price_out_per_1k)
    assert worker.latency_ms(1000) == pytest.approx(worker.latency_base_ms + worker.latency_per_1k_out_ms)
    assert worker.quality_for("no-such-type") == worker.default_quality
    assert 0 < worker.latency_jitter <= 1


def test_to_dict_and_back_gives_the_same_catalogue():
    catalogue = load_catalogue()
    data = json.loads(json.dumps(catalogue.to_dict()))
    assert Catalogue.from_dict(data) == catalogue


def test_a_catalogue_dict_without_latency_jitter_gets_the_default():
    data = load_catalogue().to_dict()
    for worker in data["workers"]:
        del worker["latency_jitter"]
    assert {w.latency_jitter for w in Catalogue.from_dict(data).workers} == {Worker.latency_jitter}


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
    ("workers:\n  - {name: a, kind: x, price_in_per_1k: 1, price_out_per_1k: 1, latency_base_ms: 1,"
     " latency_per_1k_out_ms: 1, default_quality: 0.5, latency_jitter: fast}", r"workers\[0\].latency_jitter"),
    ("workers:\n  - {name: a, kind: x, price_in_per_1k: 1, price_out_per_1k: 1, latency_base_ms: 1,"
     " latency_per_1k_out_ms: 1, default_quality: 0.5, qualty: {t: 1}}", r"workers\[0\].qualty: unknown field"),
    ("workers:\n  - {name: a, kind: x, price_in_per_1k: 1, price_out_per_1k: 1, latency_base_ms: 1,"
     " latency_per_1k_out_ms: 1, default_quality: 0.5}\n  - {name: a, kind: y, price_in_per_1k: 1,"
     " price_out_per_1k: 1, latency_base_ms: 1, latency_per_1k_out_ms: 1, default_quality: 0.5}",
     r"workers\[1\].name: duplicate worker 'a'"),
    ("workers: [", "not valid YAML"),
])
def test_malformed_catalogue_names_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "workers.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_catalogue(path)
    assert str(path) in str(info.value)


def test_missing_catalogue_file_names_the_path(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ValueError, match="cannot read worker catalogue") as info:
        load_catalogue(path)
    assert str(path) in str(info.value)
