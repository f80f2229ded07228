"""The data commands through click's runner: exit codes, JSON report, export round trip, db path order."""

import json

import pytest
from click.testing import CliRunner

from orchestai_core.cli import main
from orchestai_core.store import Store
from orchestai_core.training_data import load_examples


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    return invoke


@pytest.fixture
def logs_file(write_lines, make_log):
    return write_lines([make_log("a"), make_log("b"), b"{broken", make_log("c", colour=1)])


def test_import_json_report_has_exactly_the_documented_keys(run, tmp_path, logs_file):
    result = run("import", logs_file, "--db", tmp_path / "x.db", "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert set(report) == {"read", "imported", "updated", "unchanged", "rejected", "rejects"}
    assert (report["read"], report["imported"], report["rejected"]) == (4, 2, 2)
    assert [r["line"] for r in report["rejects"]] == [3, 4]
    assert Store.open(tmp_path / "x.db").count_logs() == 2


def test_import_with_rejects_exits_0_but_strict_exits_1(run, tmp_path, logs_file):
    assert run("import", logs_file, "--db", tmp_path / "x.db").exit_code == 0
    strict = run("import", logs_file, "--db", tmp_path / "y.db", "--strict")
    assert strict.exit_code == 1
    assert Store.open(tmp_path / "y.db").count_logs() == 2  # the good lines still went in


def test_unreadable_file_is_one_line_and_exit_1(run, tmp_path):
    result = run("import", tmp_path / "missing.jsonl", "--db", tmp_path / "x.db")
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error:") and "cannot open" in result.output
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(run, tmp_path):
    assert run("import").exit_code == 2
    assert run("export", "--db", tmp_path / "x.db").exit_code == 2
    assert run("export", "--out", tmp_path / "o", "--format", "xml").exit_code == 2


def test_export_import_export_is_identical(run, tmp_path, write_lines, make_log, spec_example):
    edited = make_log("b", instruction="Second version")
    source = write_lines([spec_example, make_log("b"), edited])
    db1, db2 = tmp_path / "one.db", tmp_path / "two.db"
    run("import", source, "--db", db1)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run("export", "--out", first, "--db", db1).exit_code == 0
    run("import", first, "--db", db2)
    run("export", "--out", second, "--db", db2)
    assert first.read_bytes() == second.read_bytes()
    exported = [json.loads(line) for line in first.read_text().splitlines()]
    assert exported[0] == spec_example
    assert exported[1]["instruction"] == "Second version"  # the latest revision


def test_export_by_status_and_as_training_json(run, tmp_path, logs_file):
    db = tmp_path / "x.db"
    run("import", logs_file, "--db", db)
    Store.open(db).set_review(["a"], "accepted", "ana")
    out = tmp_path / "accepted.jsonl.gz"
    assert run("export", "--out", out, "--status", "accepted", "--db", db).exit_code == 0
    training = tmp_path / "training_data.json"
    assert run("export", "--out", training, "--format", "training-json", "--db", db).exit_code == 0
    assert [e.id for e in load_examples(out)] == ["a"]
    examples = load_examples(training)
    assert [e.id for e in examples] == ["a", "b"]
    assert examples[0].parents == [[], [0], [1], [1]]


def test_db_option_beats_env_which_beats_config(run, tmp_path, logs_file, monkeypatch):
    env_db, cli_db = tmp_path / "env.db", tmp_path / "cli.db"
    run("import", logs_file, env={"ORCHESTAI_DB": str(env_db)})
    assert Store.open(env_db).count_logs() == 2
    run("import", logs_file, "--db", cli_db, env={"ORCHESTAI_DB": str(env_db)})
    assert Store.open(cli_db).count_logs() == 2
    stats = json.loads(run("stats", env={"ORCHESTAI_DB": str(env_db)}).output)
    assert stats["logs"] == 2


def test_synth_writes_valid_reproducible_logs(run, tmp_path):
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    assert run("synth", "--n", 20, "--seed", 4, "--out", a).exit_code == 0
    run("synth", "--n", 20, "--seed", 4, "--out", b)
    assert a.read_bytes() == b.read_bytes()
    assert len(load_examples(a)) == 20
