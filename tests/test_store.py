"""The store: schema, search, pagination, facets, revisions, reviews, runs and metrics."""

import random
import sqlite3

import pytest

from orchestai_core.migrations import MIGRATIONS, schema_version
from orchestai_core.store import (SORT_COLUMNS, LogFilter, StaleRevisionError, Store, StoreError, fts_query)


@pytest.fixture
def filled(store, make_log):
    rng = random.Random(1)
    logs = []
    for i in range(60):
        log = make_log(f"log-{i:03d}", instruction=f"Summarise report {i} about {rng.choice(['résumé', 'sales', 'vendors'])}")
        if i % 3:
            log["template"] = rng.choice(["a", "b"])
        if i % 4:
            log["success"] = rng.random() < 0.6
        log["subtasks"][0]["cost_usd"] = rng.choice([0.001, 0.002, 0.003])
        log["subtasks"][1]["worker"] = rng.choice(["gpt-4o", "gpt-4o-mini"])
        if i % 5 == 0:
            del log["subtasks"][3]["latency_ms"], log["subtasks"][0]["latency_ms"]
            del log["subtasks"][1]["latency_ms"], log["subtasks"][2]["latency_ms"]
        logs.append(log)
    store.import_logs(logs)
    return store


def test_opening_twice_keeps_the_schema_and_uses_wal(tmp_path):
    first = Store.open(tmp_path / "x.db")
    second = Store.open(tmp_path / "x.db")
    assert schema_version(second.conn) == len(MIGRATIONS)
    assert first.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this code"):
        Store.open(tmp_path / "x.db")


@pytest.mark.parametrize("text", ['"', "'", "(", ")", "*", "NEAR", "NEAR(a b)", "a -b", "AND OR NOT", "^x", ":",
                                  "col:val", "\"unterminated", "résumé", "日本語", "", "   ", "%_", "a\x00b"])
def test_hostile_search_strings_never_raise(filled, text):
    filled.query_logs(LogFilter(search=text))
    filled.count_logs(LogFilter(search=text))


def test_search_is_literal_and_requires_every_word(filled):
    assert fts_query('sales "NEAR(x)" -vendors*') == '"sales" "NEAR" "x" "vendors"'
    assert fts_query("(*)") is None
    sales = filled.count_logs(LogFilter(search="sales"))
    assert 0 < sales < 60
    assert filled.count_logs(LogFilter(search="resume")) == filled.count_logs(LogFilter(search="résumé")) > 0
    assert filled.count_logs(LogFilter(search="sales vendors")) == 0
    assert filled.count_logs(LogFilter(search="(*)")) == 0


@pytest.mark.parametrize("sort", ["rowid", *SORT_COLUMNS])
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_visit_every_matching_log_once_in_order(filled, sort, descending):
    for flt in (LogFilter(), LogFilter(worker="gpt-4o"), LogFilter(search="report", min_cost=0.002)):
        seen, cursor = [], None
        while True:
            page = filled.query_logs(flt, sort=sort, descending=descending, after=cursor, limit=7)
            seen += page.rows
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len({r["id"] for r in seen}) == filled.count_logs(flt)
        if sort != "rowid":
            # NULLs first ascending, last descending; values ordered in between.
            keys = [(r[sort] is not None, r[sort] if r[sort] is not None else 0) for r in seen]
            assert keys == sorted(keys, reverse=descending)


def test_unknown_sort_column_is_refused(filled):
    with pytest.raises(StoreError, match="cannot sort by"):
        filled.query_logs(sort="id; DROP TABLE logs")


def test_filters_and_facets_agree(filled):
    by_template = dict(filled.facet("template"))
    assert sum(by_template.values()) == 60
    assert filled.count_logs(LogFilter(template="a")) == by_template["a"]
    by_worker = dict(filled.facet("worker"))
    assert by_worker["nllb-200"] == 60
    assert filled.count_logs(LogFilter(worker="gpt-4o")) == by_worker["gpt-4o"]
    in_range = [log for log in filled.iter_logs()
                if 0.0025 <= sum(s.get("cost_usd", 0) for s in log["subtasks"]) <= 0.0035]
    assert 0 < len(in_range) < 60
    assert filled.count_logs(LogFilter(min_cost=0.0025, max_cost=0.0035)) == len(in_range)


def test_saving_an_edit_adds_a_revision_and_a_stale_edit_is_refused(filled, make_log):
    edited = filled.get_log("log-001")
    edited["subtasks"][1]["type"] = "condense"
    assert filled.save_revision(edited, "ana", note="type fix", base_revision=1) == 2
    with pytest.raises(StaleRevisionError, match="changed since you opened it"):
        filled.save_revision(edited, "bob", base_revision=1)
    with pytest.raises(StoreError, match="annotator name is required"):
        filled.save_revision(edited, "  ")
    history = filled.revisions("log-001")
    assert [(h["revision"], h["author"], h["note"]) for h in history] == [(1, "import", None), (2, "ana", "type fix")]


def test_restore_makes_an_old_revision_current_as_a_new_one(filled):
    original = filled.get_log("log-002")
    edited = dict(original, instruction="changed")
    filled.save_revision(edited, "ana")
    assert filled.restore_revision("log-002", 1, "bob", base_revision=2) == 3
    assert filled.get_log("log-002") == original
    assert filled.count_logs(LogFilter(search="changed")) == 0


def test_review_status_changes_are_recorded(filled):
    assert filled.set_review(["log-001", "log-002"], "accepted", "ana", note="ok") == 2
    assert filled.count_logs(LogFilter(review_status="accepted")) == 2
    assert filled.review_history("log-001")[-1]["annotator"] == "ana"
    with pytest.raises(StoreError, match="unknown review status"):
        filled.set_review(["log-001"], "great", "ana")
    with pytest.raises(StoreError, match="unknown log id"):
        filled.set_review(["nope"], "accepted", "ana")
    assert filled.count_logs(LogFilter(review_status="accepted")) == 2


def test_a_failed_write_leaves_nothing_behind(filled, make_log):
    bad = make_log("new-log")
    with pytest.raises(Exception):
        filled.import_logs([bad, {"id": "broken"}])
    assert filled.count_logs() == 60


def test_runs_and_metrics(store):
    run = store.create_run({"epochs": 2}, command=["orchestai", "train"], data_size=10)
    assert store.get_run(run)["status"] == "queued"
    store.update_run(run, status="running", pid=123, summary={"best": 0.4})
    store.add_metrics(run, [{"step": 1, "epoch": 0, "split": "train", "name": "loss", "value": 1.5, "wall_time": 0.1},
                            {"step": 2, "epoch": 0, "split": "train", "name": "loss", "value": 1.2, "wall_time": 0.2}])
    rows = store.metrics(run)
    assert [r["value"] for r in rows] == [1.5, 1.2]
    assert store.metrics(run, after_id=rows[0]["id"])[0]["value"] == 1.2
    assert store.get_run(run)["summary"] == {"best": 0.4}
    with pytest.raises(StoreError, match="unknown run status"):
        store.update_run(run, status="exploded")
    with pytest.raises(StoreError, match="unknown run field"):
        store.update_run(run, colour="red")
    store.delete_run(run)
    assert store.list_runs() == [] and store.metrics(run) == []
