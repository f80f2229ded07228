"""The bundled default corpus is exactly what the generator gives, and `orchestai init` loads it."""

import gzip

from click.testing import CliRunner

from orchestai_core.cli import main
from orchestai_core.config import load_config
from orchestai_core.export import write_jsonl
from orchestai_core.store import Store
from orchestai_core.synth import generate_logs

CORPUS_LOGS = 1200  # `make corpus`: about five logs per template of the generator


def test_bundled_corpus_matches_the_generator(tmp_path):
    bundled = load_config()["paths"]["default_corpus"]
    fresh = tmp_path / "fresh.jsonl"
    write_jsonl(generate_logs(CORPUS_LOGS, seed=0), fresh)
    with gzip.open(bundled, "rb") as fh:
        assert fh.read() == fresh.read_bytes(), "run `make corpus` to regenerate assets/default_logs.jsonl.gz"


def test_init_fills_an_empty_database_with_the_default_corpus_once(tmp_path):
    db = tmp_path / "orchestai.db"
    runner = CliRunner()
    first = runner.invoke(main, ["init", "--db", str(db)])
    assert first.exit_code == 0, first.output
    store = Store.open(db)
    assert store.logs.count() == CORPUS_LOGS
    assert store.logs.summary()["templates"] >= 150
    second = runner.invoke(main, ["init", "--db", str(db)])
    assert second.exit_code == 0
    assert "already" in second.output
    assert store.logs.count() == CORPUS_LOGS
    assert len(store.imports.batches()) == 1
