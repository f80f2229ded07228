"""The data commands through click's runner: exit codes, the JSON report, export, init and the db path order.
Each test checks the exit code and the rows the command left in the database."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from orchestai_core.cli import main
from orchestai_core.store import Store
from orchestai_core.training_data import load_examples


@pytest.fixture
def run(monkeypatch):
    monkeypatch.delenv("ORCHESTAI_DB", raising=False)
    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    return invoke


@pytest.fixture
def logs_file(write_lines, make_log):
    return write_lines([make_log("a"), make_log("b"), b"{broken", make_log("c", colour=1)])


def logs_in(db):
    store = Store.open(db)
    try:
        return sorted(store.logs.ids())
    finally:
        store.close()


# ------------------------------------------------------------------ import

def test_import_json_report_has_exactly_the_documented_keys(run, tmp_path, logs_file):
    result = run("import", logs_file, "--db", tmp_path / "x.db", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert set(report) == {"read", "imported", "updated", "unchanged", "rejected", "rejects"}
    assert (report["read"], report["imported"], report["updated"], report["unchanged"], report["rejected"]) == (
        4, 2, 0, 0, 2)
    assert all(set(r) == {"line", "error"} for r in report["rejects"])
    assert [r["line"] for r in report["rejects"]] == [3, 4]
    assert report["rejects"][1]["error"].startswith("line 4: colour: unknown top-level field")
    assert logs_in(tmp_path / "x.db") == ["a", "b"]


def test_a_second_import_reports_everything_unchanged(run, tmp_path, logs_file):
    run("import", logs_file, "--db", tmp_path / "x.db")
    report = json.loads(run("import", logs_file, "--db", tmp_path / "x.db", "--json").stdout)
    assert (report["imported"], report["updated"], report["unchanged"], report["rejected"]) == (0, 0, 2, 2)
    assert logs_in(tmp_path / "x.db") == ["a", "b"]


def test_import_without_json_prints_a_readable_summary_and_the_rejects(run, tmp_path, logs_file):
    result = run("import", logs_file, "--db", tmp_path / "x.db")
    assert result.exit_code == 0
    assert result.stdout == f"{logs_file}: read 4, imported 2, updated 0, unchanged 0, rejected 2\n"
    assert "line 3: invalid JSON" in result.stderr and "line 4: colour" in result.stderr


def test_many_rejects_are_summarised_after_twenty(run, tmp_path, write_lines):
    path = write_lines([b'{"id": "no-instruction"}'] * 25)  # JSON objects, so a log file with bad logs
    result = run("import", path, "--db", tmp_path / "x.db")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0] == f"warning: nothing imported from {path}: every line was rejected"
    assert len(lines) == 22 and "5 more (all kept in the store" in result.stderr
    assert len(Store.open(tmp_path / "x.db").imports.rejects()) == 25


def test_import_with_rejects_exits_0_but_strict_exits_1(run, tmp_path, logs_file):
    assert run("import", logs_file, "--db", tmp_path / "x.db").exit_code == 0
    strict = run("import", logs_file, "--db", tmp_path / "y.db", "--strict", "--json")
    assert strict.exit_code == 1
    assert json.loads(strict.stdout)["rejected"] == 2
    assert logs_in(tmp_path / "y.db") == ["a", "b"]  # the good lines still went in


def test_strict_import_of_a_clean_file_exits_0(run, tmp_path, write_lines, make_log):
    path = write_lines([make_log("a")])
    assert run("import", path, "--db", tmp_path / "x.db", "--strict").exit_code == 0
    assert logs_in(tmp_path / "x.db") == ["a"]


def test_a_missing_file_is_one_line_and_exit_1(run, tmp_path):
    result = run("import", tmp_path / "missing.jsonl", "--db", tmp_path / "x.db")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error:") and "missing.jsonl: cannot open" in result.output
    assert "Traceback" not in result.output
    assert logs_in(tmp_path / "x.db") == []


def test_a_corrupt_gzip_file_is_one_line_and_exit_1(run, tmp_path):
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b" + b"\x00" * 30)
    result = run("import", bad, "--db", tmp_path / "x.db")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "cannot read" in result.output


def test_a_db_that_is_not_a_database_is_one_line_and_exit_1(run, tmp_path, logs_file):
    not_db = tmp_path / "notes.db"
    not_db.write_text("these are my notes, not a database\n" * 100)
    result = run("import", logs_file, "--db", not_db)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: cannot open database")
    assert not_db.read_text().startswith("these are my notes")


def test_the_installed_command_exits_1_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "orchestai_core", "import", str(tmp_path / "missing.jsonl"),
                             "--db", str(tmp_path / "x.db")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("Error:") and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [
    ["import"],                                      # FILE missing
    ["import", "{tmp}", "--db", "{tmp}/x.db"],       # a folder, not a file
    ["import", "f.jsonl", "--colour"],               # unknown option
    ["export", "--db", "{tmp}/x.db"],                # --out missing
    ["export", "--out", "{tmp}/o", "--format", "xml"],
    ["export", "--out", "{tmp}/o", "--status", "great"],
    ["init", "--db", "{tmp}/x.db", "--corpus", "{tmp}/missing.jsonl"],
    ["frobnicate"],
])
def test_usage_errors_exit_2_and_touch_nothing(run, tmp_path, args):
    result = run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "o").exists()


# ------------------------------------------------------------------ export

def test_export_import_export_is_identical(run, tmp_path, write_lines, make_log, spec_example):
    edited = make_log("b", instruction="Second version")
    source = write_lines([spec_example, make_log("b"), edited])
    db1, db2 = tmp_path / "one.db", tmp_path / "two.db"
    assert run("import", source, "--db", db1).exit_code == 0
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    result = run("export", "--out", first, "--db", db1)
    assert result.exit_code == 0 and result.stdout == f"{first}: 2 logs (jsonl)\n"
    assert run("import", first, "--db", db2).exit_code == 0
    assert run("export", "--out", second, "--db", db2).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    exported = [json.loads(line) for line in first.read_text().splitlines()]
    assert exported == [spec_example, edited]  # the latest revision of b
    assert logs_in(db2) == ["b", "log-000042"]


def test_export_by_status_and_as_training_json(run, tmp_path, logs_file):
    db = tmp_path / "x.db"
    run("import", logs_file, "--db", db)
    Store.open(db).logs.set_review(["a"], "accepted", "ana")
    out = tmp_path / "accepted.jsonl.gz"
    assert run("export", "--out", out, "--status", "accepted", "--db", db).exit_code == 0
    training = tmp_path / "training_data.json"
    result = run("export", "--out", training, "--format", "training-json", "--db", db)
    assert result.exit_code == 0 and "2 logs (training-json)" in result.stdout
    assert [e.id for e in load_examples(out)] == ["a"]
    examples = load_examples(training)
    assert [e.id for e in examples] == ["a", "b"]
    assert examples[0].parents == [[], [0], [1], [1]]
    pending = tmp_path / "pending.jsonl"
    run("export", "--out", pending, "--status", "pending", "--db", db)
    assert [json.loads(line)["id"] for line in pending.read_text().splitlines()] == ["b"]


def test_export_to_a_missing_folder_is_one_line_and_exit_1(run, tmp_path, logs_file):
    db = tmp_path / "x.db"
    run("import", logs_file, "--db", db)
    result = run("export", "--out", tmp_path / "no" / "such" / "out.jsonl", "--db", db)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "cannot write" in result.output


# ------------------------------------------------------------------ init and stats

@pytest.fixture
def corpus(write_lines, make_log):
    return write_lines([make_log(f"c{i}") for i in range(3)] + [b"{bad"], name="corpus.jsonl")


def test_init_loads_the_corpus_into_an_empty_database_once(run, tmp_path, corpus):
    db = tmp_path / "new" / "x.db"
    first = run("init", "--db", db, "--corpus", corpus)
    assert first.exit_code == 0 and "created with 3 logs" in first.stdout and "(1 rejected)" in first.stdout
    assert logs_in(db) == ["c0", "c1", "c2"]
    second = run("init", "--db", db, "--corpus", corpus)
    assert second.exit_code == 0 and "3 logs already; nothing loaded" in second.stdout
    store = Store.open(db)
    assert len(store.imports.batches()) == 1
    assert store.conn.execute("SELECT count(*) FROM revisions").fetchone()[0] == 3


def test_init_without_a_corpus_creates_an_empty_database(run, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("paths:\n  database: x.db\n")
    result = run("init", "--config", config)
    assert result.exit_code == 0 and "created, empty" in result.stdout
    assert logs_in(tmp_path / "x.db") == []


def test_stats_prints_the_dataset_figures(run, tmp_path, logs_file):
    db = tmp_path / "x.db"
    run("import", logs_file, "--db", db)
    stats = json.loads(run("stats", "--db", db).stdout)
    assert (stats["logs"], stats["templates"], stats["workers"], stats["success_rate"]) == (2, 1, 2, 1.0)
    assert stats["review"]["pending"] == 2
    tables = stats["tables"]
    assert (tables["logs"], tables["revisions"], tables["import_batches"], tables["rejects"], tables["runs"]) == \
        (2, 2, 1, 2, 0)  # the two bad lines of the file are kept as rejects
    assert not any(name.startswith("logs_fts_") for name in tables)  # the index's shadow tables are its own


def test_db_option_beats_env_which_beats_config(run, tmp_path, corpus):
    config = tmp_path / "c.yaml"
    config.write_text("paths:\n  database: from-config.db\n")
    env_db, cli_db, config_db = tmp_path / "env.db", tmp_path / "cli.db", tmp_path / "from-config.db"

    assert run("init", "--config", config, "--corpus", corpus).exit_code == 0
    assert [p.exists() for p in (config_db, env_db, cli_db)] == [True, False, False]

    env = {"ORCHESTAI_DB": str(env_db)}
    assert run("init", "--config", config, "--corpus", corpus, env=env).exit_code == 0
    assert [p.exists() for p in (env_db, cli_db)] == [True, False]

    assert run("init", "--config", config, "--corpus", corpus, "--db", cli_db, env=env).exit_code == 0
    assert logs_in(cli_db) == logs_in(env_db) == logs_in(config_db) == ["c0", "c1", "c2"]


def test_import_and_stats_follow_the_environment_unless_db_is_given(run, tmp_path, logs_file):
    env_db, cli_db = tmp_path / "env.db", tmp_path / "cli.db"
    env = {"ORCHESTAI_DB": str(env_db)}
    assert run("import", logs_file, env=env).exit_code == 0
    assert run("import", logs_file, "--db", cli_db, env=env).exit_code == 0
    assert logs_in(env_db) == logs_in(cli_db) == ["a", "b"]
    assert len(Store.open(env_db).imports.batches()) == 1  # the --db import did not go to env.db
    assert json.loads(run("stats", env=env).stdout)["logs"] == 2


# ------------------------------------------------------------------ import --format taskbench

TASKBENCH_ROWS = [
    {"id": "7", "user_request": "Log in, then check the balance.",
     "task_nodes": [{"task": "login"}, {"task": "balance"}],
     "task_links": [{"source": "login", "target": "balance"}],
     "task_steps": ["Step 1 Call login", "Step 2 Call balance"]},
    {"user_request": "Loop.", "task_nodes": [{"task": "a"}, {"task": "b"}],
     "task_links": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]},
]


def test_import_taskbench_with_tools_reports_both_in_json_and_exits_0(run, tmp_path):
    rows = tmp_path / "train.jsonl"
    rows.write_text("\n".join(json.dumps(r) for r in TASKBENCH_ROWS) + "\n")
    tools = tmp_path / "tool_desc.json"
    tools.write_text(json.dumps({"nodes": [{"id": "login", "desc": "Log in"}, {"id": "balance", "desc": "Balance"}]}))
    result = run("import", "--format", "taskbench", rows, "--tools", tools, "--db", tmp_path / "x.db", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert (report["read"], report["imported"], report["rejected"]) == (2, 1, 1)
    assert report["rejects"] == [{"line": 2, "error": "line 2: task_links: the links form a cycle: "
                                                      "a (node 1) → b (node 2) → a (node 1)"}]
    assert report["tools"] == {"added": 2, "updated": 0, "unchanged": 0}
    assert logs_in(tmp_path / "x.db") == ["7"]
    store = Store.open(tmp_path / "x.db")
    assert [t["name"] for t in store.imports.tools()] == ["balance", "login"]
    assert store.logs.get("7")["source"] == "taskbench"
    strict = run("import", "--format", "taskbench", rows, "--db", tmp_path / "x.db", "--strict")
    assert strict.exit_code == 1 and "unchanged 1, rejected 1" in strict.stdout


def test_import_with_a_bad_tool_file_exits_1_with_one_line_and_imports_nothing(run, tmp_path):
    rows = tmp_path / "train.jsonl"
    rows.write_text(json.dumps(TASKBENCH_ROWS[0]) + "\n")
    tools = tmp_path / "tool_desc.json"
    tools.write_text('{"nodes": [{"desc": "nameless"}]}')
    result = run("import", "--format", "taskbench", rows, "--tools", tools, "--db", tmp_path / "x.db")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tools}: not a tool description file: nodes[0].id: expected the tool name, " \
                            "a non-empty string\n"
    assert logs_in(tmp_path / "x.db") == []


def test_an_unknown_format_is_a_usage_error(run, tmp_path):
    rows = tmp_path / "train.jsonl"
    rows.write_text(json.dumps(TASKBENCH_ROWS[0]) + "\n")
    assert run("import", "--format", "csv", rows, "--db", tmp_path / "x.db").exit_code == 2


@pytest.mark.parametrize("content, reason", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 25, "not a log file: it holds binary data"),
    (b"", "empty: no logs in it"),
])
def test_a_file_that_is_not_a_log_file_is_one_line_and_exit_1(run, tmp_path, content, reason):
    path = tmp_path / "photo.jsonl"
    path.write_bytes(content)
    result = run("import", path, "--db", tmp_path / "x.db", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {path}: {reason}") and len(result.stderr.splitlines()) == 1
    assert Store.open(tmp_path / "x.db").imports.rejects() == []
