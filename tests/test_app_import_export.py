"""The Import and export page through AppTest: upload with bad lines, the report, the export choices."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from orchestai_core.store import LogFilter, Store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "workbench" / "app.py")
PAGE = str(ROOT / "pages" / "import_export.py")


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "data" / "io.db"
    store = Store.open(path)
    monkeypatch.setenv("ORCHESTAI_DB", str(path))
    yield store
    store.close()


def _upload(at, name, content):
    at.file_uploader(key="upload").set_value((name, content, "application/octet-stream")).run()
    next(b for b in at.button if b.key == "import").click().run()
    return at


def test_page_is_registered_and_states_the_upload_limit(db):
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("../pages/import_export.py").run()
    assert not at.exception
    assert "at most 200 MB" in at.markdown[0].value
    assert at.file_uploader(key="upload").allowed_type == [".jsonl", ".gz", ".json"]


def test_upload_with_bad_lines_imports_the_rest_and_offers_the_rejects(db, make_log):
    bad_dep = make_log("log-bad")
    bad_dep["subtasks"][1]["depends_on"] = ["s9"]
    lines = [json.dumps(make_log("log-1")).encode(), b"{not json", json.dumps(bad_dep).encode(),
             json.dumps(make_log("log-2")).encode()]
    at = _upload(AppTest.from_file(PAGE, default_timeout=30).run(), "batch.jsonl", b"\n".join(lines))
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Imported": "2", "Updated": "0", "Unchanged": "0", "Rejected": "2"}
    rejects = at.dataframe[0].value
    assert list(rejects["line"]) == [2, 3]
    assert rejects["reason"][1] == "subtasks[1].depends_on: unknown subtask id 's9'"
    download = next(b for b in at.download_button if b.key == "download_rejects")
    assert download.label == "Download the 2 rejected lines"
    assert db.logs.count() == 2
    assert db.imports.batches()[0]["source_name"] == "batch.jsonl"
    assert list((db.path.parent / "uploads").iterdir()) == []  # the temporary copy is gone


def test_reimport_reports_unchanged_and_updated(db, make_log):
    db.logs.add([make_log("log-1"), make_log("log-2")])
    changed = make_log("log-2", instruction="A new instruction")
    content = "\n".join(json.dumps(x) for x in (make_log("log-1"), changed)).encode()
    at = _upload(AppTest.from_file(PAGE, default_timeout=30).run(), "again.jsonl", content)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Imported"], metrics["Updated"], metrics["Unchanged"]) == ("0", "1", "1")
    assert not at.dataframe or "line" not in at.dataframe[0].value


def test_unreadable_gzip_is_reported_not_raised(db):
    at = _upload(AppTest.from_file(PAGE, default_timeout=30).run(), "broken.jsonl.gz", b"\x1f\x8b\x08garbage")
    assert not at.exception
    assert "cannot read" in at.error[0].value


def test_export_offers_accepted_logs_or_the_logs_page_filter(db, make_log):
    db.logs.add([make_log(f"log-{i}", template=f"tpl-{i % 2}") for i in range(5)])
    db.logs.set_review(["log-0", "log-1"], "accepted", "ann")
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    export = next(b for b in at.download_button if b.key == "export")
    assert export.label == "Download orchestai_logs.jsonl (2 logs)"
    at.session_state["logs_filter"] = LogFilter(template="tpl-0")
    at.radio(key="export_scope").set_value("filtered")
    at.radio(key="export_format").set_value("training-json").run()
    export = next(b for b in at.download_button if b.key == "export")
    assert export.label == "Download training_data.json (3 logs)"
    assert "template 'tpl-0'" in at.caption[-1].value.replace("\\", "")


BINARY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 25  # 26 "lines"


@pytest.mark.parametrize("name, content, reason", [
    ("photo.jsonl", BINARY, "photo.jsonl: not a log file: it holds binary data"),
    ("empty.jsonl", b"", "empty.jsonl: empty: no logs in it"),
])
def test_a_file_that_is_not_a_log_file_shows_one_error_and_no_success(db, name, content, reason):
    at = _upload(AppTest.from_file(PAGE, default_timeout=30).run(), name, content)
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.replace("\\", "").startswith(reason)
    assert not at.success and not at.metric
    assert all("line" not in d.value for d in at.dataframe)  # no rejects table, only the previous imports
    assert db.imports.rejects() == [] and db.logs.count() == 0


def test_an_import_where_every_line_is_rejected_is_a_warning_not_a_success(db):
    at = _upload(AppTest.from_file(PAGE, default_timeout=30).run(), "bad.jsonl", b'{"id": "a"}\n{"id": "b"}\n')
    assert not at.exception and not at.success
    assert at.warning[0].value.replace("\\", "") == ("Nothing imported from bad.jsonl: "
                                                     "all 2 lines were rejected (reasons below).")
    assert {m.label: m.value for m in at.metric}["Rejected"] == "2"


def test_a_failed_upload_clears_the_previous_report(db, make_log):
    at = _upload(AppTest.from_file(PAGE, default_timeout=30).run(), "ok.jsonl", json.dumps(make_log("a")).encode())
    assert at.success
    at = _upload(at, "photo.jsonl", BINARY)
    assert len(at.error) == 1 and not at.success and not at.metric


def test_taskbench_rows_and_tool_descriptions_are_imported_from_the_page(db):
    rows = [{"id": "r1", "user_request": "Log in, then pay.", "task_nodes": [{"task": "login"}, {"task": "pay"}],
             "task_links": [{"source": "login", "target": "pay"}]},
            {"id": "r2", "user_request": "Self.", "task_nodes": [{"task": "pay"}],
             "task_links": [{"source": "pay", "target": "pay"}]}]
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert at.radio(key="import_format").value == "log" and not any(u.key == "tools_upload" for u in at.file_uploader)
    at.radio(key="import_format").set_value("taskbench").run()
    tools = json.dumps({"nodes": [{"id": "login", "desc": "Log in"}, {"id": "pay", "desc": "Pay"}]}).encode()
    at.file_uploader(key="tools_upload").set_value(("tool_desc.json", tools, "application/json")).run()
    at = _upload(at, "train.jsonl", b"\n".join(json.dumps(r).encode() for r in rows))
    assert not at.exception
    assert at.success[0].value.replace("\\", "") == ("Tool descriptions of tool_desc.json: "
                                                     "2 added, 0 updated, 0 unchanged.")
    assert {m.label: m.value for m in at.metric} == {"Imported": "1", "Updated": "0", "Unchanged": "0", "Rejected": "1"}
    assert at.dataframe[0].value["reason"][0] == ("task_links[0]: links 'pay' to itself, "
                                                  "but it occurs only once in task_nodes")
    assert db.logs.ids() == ["r1"] and [t["name"] for t in db.imports.tools()] == ["login", "pay"]
