"""The store: schema and migrations, literal search, keyset pagination, filters and facets, revisions,
reviews, runs and metrics."""

import random
import sqlite3

import pytest

from orchestai_core.schema import LogError, canonical_json, log_totals
from orchestai_core.store import (
    SORT_COLUMNS,
    DeviceBusyError,
    LogFilter,
    StaleRevisionError,
    Store,
    StoreError,
    fts_query,
    migrations,
)
from orchestai_core.store.migrations import MIGRATIONS, migrate, schema_version

N_LOGS = 60


@pytest.fixture
def filled(store, make_log):
    """60 logs with ties and NULLs in most sortable columns."""
    rng = random.Random(1)
    logs = []
    for i in range(N_LOGS):
        log = make_log(f"log-{i:03d}",
                       instruction=f"Summarise report {i} about {rng.choice(['résumé', 'sales', 'vendors'])}")
        if i % 3:
            log["template"] = rng.choice(["a", "b"])
        else:
            del log["template"]
        if i % 4:
            log["success"] = rng.random() < 0.6
        else:
            del log["success"]
        if i % 2:
            log["source"] = rng.choice(["synthetic", "upload.jsonl"])
        if i % 6 == 0:
            log["created_at"] = f"2026-03-{1 + i % 5:02d}T10:00:00Z"
        log["subtasks"][0]["cost_usd"] = rng.choice([0.001, 0.002, 0.003])
        log["subtasks"][1]["worker"] = rng.choice(["gpt-4o", "gpt-4o-mini"])
        if i % 5 == 0:
            for s in log["subtasks"]:
                del s["latency_ms"]
        if i % 10 == 7:
            for s in log["subtasks"]:
                del s["cost_usd"]
        if i % 8 == 3:
            log["subtasks"] = log["subtasks"][:2]
        logs.append(log)
    store.logs.add(logs)
    return store


# ------------------------------------------------------------------ schema and migrations

def test_opening_twice_keeps_the_schema_and_the_data_and_uses_wal(tmp_path, make_log):
    first = Store.open(tmp_path / "x.db")
    first.logs.add([make_log("a")])
    second = Store.open(tmp_path / "x.db")
    assert schema_version(second.conn) == len(MIGRATIONS)
    assert second.logs.count() == 1
    assert first.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert second.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(second.conn) == len(MIGRATIONS)  # nothing left to apply


def test_every_table_of_the_design_exists(store):
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"logs", "revisions", "log_workers", "review_events", "import_batches", "rejects", "logs_fts", "runs",
            "metrics"} <= tables


def test_an_older_schema_is_migrated_and_keeps_its_logs(tmp_path, make_log):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.close()
    old = Store(path)
    old.logs.add([make_log("kept")])
    old.close()
    store = Store.open(path)
    assert schema_version(store.conn) == len(MIGRATIONS)
    assert store.logs.get("kept") == make_log("kept")
    assert store.runs.create({"epochs": 1}) == 1  # the runs table of migration 2 is there


def test_a_failing_migration_is_rolled_back_entirely(tmp_path, monkeypatch):
    broken = [*MIGRATIONS, "CREATE TABLE half_done (x INTEGER); CREATE TABLE half_done (x INTEGER)"]
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        Store.open(tmp_path / "x.db")
    conn = sqlite3.connect(tmp_path / "x.db")
    assert schema_version(conn) == len(MIGRATIONS)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0


def test_a_newer_schema_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this code"):
        Store.open(tmp_path / "x.db")


def test_a_store_can_be_read_from_another_thread(filled):
    import threading

    counts = []
    worker = threading.Thread(target=lambda: counts.append(filled.logs.count()))
    worker.start()
    worker.join()
    assert counts == [N_LOGS]


# ------------------------------------------------------------------ search

HOSTILE = ['"', "'", "(", ")", "*", "NEAR", "NEAR(a b)", "a -b", "-sales", "AND OR NOT", "OR", "^x", ":", "col:val",
           "instruction:sales", '"unterminated', "sales*", "résumé", "日本語", "", "   ", "%_", "_", "a\x00b", "🙂",
           "((sales", "sales)", '""', "{x}", "[x]", "\\", ";", "' OR 1=1 --", "a" * 500]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_search_strings_never_raise(filled, text):
    flt = LogFilter(search=text)
    assert filled.logs.count(flt) == len(filled.logs.query(flt, limit=N_LOGS + 1).rows)
    filled.logs.facet("template", flt)


@pytest.mark.parametrize("text, query", [
    ('sales "NEAR(x)" -vendors*', '"sales" "NEAR" "x" "vendors"'),
    ("AND OR NOT", '"AND" "OR" "NOT"'),
    ("résumé 日本語", '"résumé" "日本語"'),
    ("(*)", None), ("", None), ("  -- ", None),
])
def test_user_text_becomes_quoted_literal_words(text, query):
    assert fts_query(text) == query


@pytest.fixture
def wordy(store, make_log):
    logs = [make_log("ops", instruction="Rock AND roll OR NOT near the venue"),
            make_log("cv", instruction="Update my résumé for the job"),
            make_log("jp", instruction="Translate the memo into 日本語 today"),
            make_log("paren", instruction="Call f(x) with a star* and a-minus"),
            make_log("plain", instruction="Summarise the quarterly sales figures")]
    logs[-1]["subtasks"][2]["description"] = "Render the chart of vendors"
    store.logs.add(logs)
    return store


def found(store, text):
    return sorted(r["id"] for r in store.logs.query(LogFilter(search=text)).rows)


@pytest.mark.parametrize("text, ids", [
    ("AND OR NOT", ["ops"]),          # operators are words
    ("near venue", ["ops"]),
    ("NEAR(rock roll)", ["ops"]),
    ("résumé", ["cv"]), ("resume", ["cv"]), ("RÉSUMÉ", ["cv"]),
    ("日本語", ["jp"]),
    ("f(x)", ["paren"]), ("star*", ["paren"]), ("a-minus", ["paren"]),
    ("sales -quarterly", ["plain"]),  # '-' does not exclude
    ("sal*", []),                     # '*' is not a prefix search
    ("vendors", ["plain"]),           # subtask descriptions are searched too
    ("rock sales", []),               # every word is required
    ('"', []), ("(*)", []),
])
def test_search_is_literal_over_instructions_and_descriptions(wordy, text, ids):
    assert found(wordy, text) == ids


def test_search_follows_the_current_revision(wordy):
    log = wordy.logs.get("plain")
    log["instruction"] = "Draft a press release"
    log["subtasks"][2]["description"] = "Proofread"
    wordy.logs.save_revision(log, "ana")
    assert found(wordy, "quarterly") == [] and found(wordy, "vendors") == []
    assert found(wordy, "press release") == ["plain"]


# ------------------------------------------------------------------ keyset pagination

def all_pages(store, flt, sort, descending, limit=7):
    """Follow the cursors to the end; a cursor that never ends fails instead of looping forever."""
    seen, cursor, pages = [], None, 0
    while pages <= N_LOGS + 1:
        page = store.logs.query(flt, sort=sort, descending=descending, after=cursor, limit=limit)
        seen += page.rows
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return seen, pages
    pytest.fail(f"pagination by {sort} did not end after {pages} pages")


@pytest.mark.parametrize("sort", ["rowid", *SORT_COLUMNS])
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_keyset_pages_visit_every_matching_log_once_in_order(filled, sort, descending):
    for flt in (LogFilter(), LogFilter(worker="gpt-4o"), LogFilter(search="report", min_cost=0.002)):
        seen, pages = all_pages(filled, flt, sort, descending)
        expected = filled.logs.count(flt)
        assert len(seen) == len({r["id"] for r in seen}) == expected
        assert pages == max(1, -(-expected // 7))
        if sort == "rowid":
            keys = [r["id"] for r in seen]  # ids were inserted in order
        else:
            # NULLs first ascending, last descending; values ordered in between; ties by insertion order.
            keys = [(r[sort] is not None, r[sort] if r[sort] is not None else 0) for r in seen]
        assert keys == sorted(keys, reverse=descending)


@pytest.mark.parametrize("sort", ["template", "success", "source", "created_at", "total_cost_usd", "total_latency_ms"])
def test_the_sample_has_nulls_and_ties_in_the_columns_paged_over(filled, sort):
    values = [r[sort] for r in filled.logs.query(limit=N_LOGS).rows]
    assert None in values
    assert len({v for v in values if v is not None}) < len([v for v in values if v is not None])


@pytest.mark.parametrize("sort", ["template", "total_cost_usd"])
def test_a_page_boundary_inside_a_run_of_nulls_loses_nothing(filled, sort):
    for limit in (1, 2, 3):
        for descending in (False, True):
            seen, _ = all_pages(filled, LogFilter(), sort, descending, limit=limit)
            assert sorted(r["id"] for r in seen) == sorted(filled.logs.ids())


def test_the_last_page_has_no_cursor(filled):
    page = filled.logs.query(limit=N_LOGS)
    assert len(page.rows) == N_LOGS and page.next_cursor is None
    assert filled.logs.query(LogFilter(template="nope")).rows == []


def test_unknown_sort_column_is_refused(filled):
    with pytest.raises(StoreError, match="cannot sort by"):
        filled.logs.query(sort="id; DROP TABLE logs")
    assert filled.logs.count() == N_LOGS


# ------------------------------------------------------------------ filters and facets

def test_template_facet_counts_every_log_including_the_unknown_ones(filled):
    by_template = dict(filled.logs.facet("template"))
    assert sum(by_template.values()) == N_LOGS
    assert by_template[None] == len(range(0, N_LOGS, 3))
    assert filled.logs.count(LogFilter(template="a")) == by_template["a"]


def test_worker_facet_counts_logs_not_subtasks(filled):
    by_worker = dict(filled.logs.facet("worker"))
    assert by_worker["nllb-200"] == N_LOGS - len(range(3, N_LOGS, 8))  # short logs stop before the translations
    assert by_worker["gpt-4o-mini"] == N_LOGS  # s1 runs on it in every log, s2 in some
    assert filled.logs.count(LogFilter(worker="gpt-4o")) == by_worker["gpt-4o"]


def test_facets_respect_the_filter(filled):
    flt = LogFilter(template="b", success=True)
    facet = dict(filled.logs.facet("worker", flt))
    assert facet["gpt-4o-mini"] == filled.logs.count(flt)
    assert dict(filled.logs.facet("success", LogFilter(template="b")))[1] == filled.logs.count(flt)


def test_facet_limit_and_unknown_column(filled):
    assert len(filled.logs.facet("template", limit=1)) == 1
    assert len(filled.logs.facet("template", limit=None)) == len(filled.logs.facet("template", limit=1000)) > 1
    with pytest.raises(StoreError, match="no facet for 'instruction; --'"):
        filled.logs.facet("instruction; --")


def python_filter(store, keep):
    return sorted(log["id"] for log in store.logs.iterate() if keep(log))


def test_range_and_value_filters_agree_with_the_logs(filled):
    def cost(log):
        return log_totals(log)[0]

    def latency(log):
        return log_totals(log)[1]

    cases = [
        (LogFilter(min_cost=0.0025, max_cost=0.0035), lambda l: cost(l) is not None and 0.0025 <= cost(l) <= 0.0035),
        (LogFilter(success=False), lambda l: l.get("success") is False),
        (LogFilter(source="synthetic"), lambda l: l.get("source") == "synthetic"),
        (LogFilter(max_subtasks=2), lambda l: len(l["subtasks"]) <= 2),
        (LogFilter(min_subtasks=3, template="a"), lambda l: len(l["subtasks"]) >= 3 and l.get("template") == "a"),
        (LogFilter(min_latency=2450, max_latency=2900),
         lambda l: latency(l) is not None and 2450 <= latency(l) <= 2900),
        (LogFilter(created_from="2026-03-02", created_to="2026-03-04"),
         lambda l: "2026-03-02" <= l.get("created_at", "") <= "2026-03-04"),
        (LogFilter(ids=["log-001", "log-002", "nope"]), lambda l: l["id"] in ("log-001", "log-002")),
        (LogFilter(ids=[]), lambda l: False),
    ]
    for flt, keep in cases:
        expected = python_filter(filled, keep)
        assert expected or flt.ids == [], flt  # every case selects something
        assert sorted(filled.logs.ids(flt)) == expected, flt
        assert filled.logs.count(flt) == len(expected)
    assert 0 < filled.logs.count(cases[0][0]) < N_LOGS


def test_summary_and_distributions(filled):
    summary = filled.logs.summary()
    assert summary["logs"] == N_LOGS and summary["templates"] == 2 and summary["workers"] == 3
    assert summary["review"] == {"pending": N_LOGS, "accepted": 0, "rejected": 0, "needs_fix": 0}
    assert len(filled.logs.column_values("n_subtasks")) == N_LOGS
    assert len(filled.logs.column_values("total_cost_usd")) == N_LOGS - len(range(7, N_LOGS, 10))
    with pytest.raises(StoreError, match="no distribution"):
        filled.logs.column_values("instruction")


# ------------------------------------------------------------------ revisions

def test_saving_an_edit_adds_a_revision_and_keeps_revision_one(filled):
    original = filled.logs.get("log-001")
    edited = filled.logs.get("log-001")
    edited["subtasks"][1]["type"] = "condense"
    assert filled.logs.save_revision(edited, "ana", note="type fix", base_revision=1) == 2
    history = filled.logs.revisions("log-001")
    assert [(h["revision"], h["author"], h["note"]) for h in history] == [(1, "import", None), (2, "ana", "type fix")]
    assert history[0]["content"] == canonical_json(original)
    assert filled.logs.get("log-001") == edited and filled.logs.get("log-001", 1) == original
    assert filled.logs.row("log-001")["revision"] == 2


def test_a_stale_edit_is_refused_and_changes_nothing(filled):
    first = dict(filled.logs.get("log-001"), instruction="first edit")
    filled.logs.save_revision(first, "ana", base_revision=1)
    late = dict(filled.logs.get("log-001", 1), instruction="late edit")
    with pytest.raises(StaleRevisionError, match="changed since you opened it .*revision 1, the latest is 2"):
        filled.logs.save_revision(late, "bob", base_revision=1)
    assert filled.logs.get("log-001")["instruction"] == "first edit"
    assert len(filled.logs.revisions("log-001")) == 2


def test_an_edit_needs_an_author_and_a_valid_log(filled):
    edited = filled.logs.get("log-001")
    with pytest.raises(StoreError, match="annotator name is required"):
        filled.logs.save_revision(edited, "  ")
    edited["subtasks"][0]["depends_on"] = ["s4"]
    with pytest.raises(LogError, match="dependency cycle"):
        filled.logs.save_revision(edited, "ana")
    assert len(filled.logs.revisions("log-001")) == 1


def test_restore_makes_an_old_revision_current_as_a_new_one(filled):
    original = filled.logs.get("log-002")
    filled.logs.save_revision(dict(original, instruction="changed wording"), "ana")
    assert filled.logs.restore_revision("log-002", 1, "bob", base_revision=2) == 3
    assert filled.logs.get("log-002") == original
    history = filled.logs.revisions("log-002")
    assert [(h["revision"], h["author"], h["note"]) for h in history][-1] == (3, "bob", "restored revision 1")
    assert filled.logs.get("log-002", 2)["instruction"] == "changed wording"  # nothing is overwritten
    assert filled.logs.count(LogFilter(search="changed wording")) == 0


def test_restore_refuses_a_stale_base_and_an_unknown_revision(filled):
    filled.logs.save_revision(dict(filled.logs.get("log-002"), instruction="x"), "ana")
    with pytest.raises(StaleRevisionError):
        filled.logs.restore_revision("log-002", 1, "bob", base_revision=1)
    with pytest.raises(StoreError, match="unknown log 'log-002' revision 9"):
        filled.logs.restore_revision("log-002", 9, "bob")
    assert len(filled.logs.revisions("log-002")) == 2


def test_unknown_logs_are_a_store_error(filled):
    with pytest.raises(StoreError, match="unknown log 'nope'"):
        filled.logs.get("nope")
    with pytest.raises(StoreError, match="unknown log 'nope'"):
        filled.logs.row("nope")


def test_a_failed_write_leaves_nothing_behind(filled, make_log):
    with pytest.raises(KeyError, match="subtasks"):
        filled.logs.add([make_log("new-log"), {"id": "broken"}])
    assert filled.logs.count() == N_LOGS
    assert filled.conn.execute("SELECT count(*) FROM revisions WHERE log_id = 'new-log'").fetchone()[0] == 0


# ------------------------------------------------------------------ review

def test_review_status_changes_are_recorded_with_their_history(filled):
    assert filled.logs.set_review(["log-001", "log-002"], "accepted", "ana", note="ok") == 2
    filled.logs.set_review(["log-001"], "needs_fix", "bob", note="wrong worker")
    assert filled.logs.count(LogFilter(review_status="accepted")) == 1
    row = filled.logs.row("log-001")
    assert (row["review_status"], row["reviewer"], row["review_note"]) == ("needs_fix", "bob", "wrong worker")
    assert row["reviewed_at"]
    history = filled.logs.review_history("log-001")
    assert [(h["status"], h["annotator"], h["note"], h["revision"]) for h in history] == [
        ("accepted", "ana", "ok", 1), ("needs_fix", "bob", "wrong worker", 1)]
    assert filled.logs.summary()["review"]["needs_fix"] == 1


@pytest.mark.parametrize("ids, status, annotator, message", [
    (["log-001"], "great", "ana", "unknown review status 'great'"),
    (["log-001", "nope"], "accepted", "ana", "unknown log id 'nope'"),
    (["log-001"], "accepted", " ", "annotator name is required"),
])
def test_a_refused_review_changes_nothing(filled, ids, status, annotator, message):
    with pytest.raises(StoreError, match=message):
        filled.logs.set_review(ids, status, annotator)
    assert filled.logs.row("log-001")["review_status"] == "pending"
    assert filled.logs.review_history("log-001") == []


def test_iterating_by_review_status(filled):
    filled.logs.set_review(["log-004", "log-009"], "rejected", "ana")
    assert [log["id"] for log in filled.logs.iterate(status="rejected")] == ["log-004", "log-009"]
    assert len(list(filled.logs.iterate(batch=7))) == N_LOGS


# ------------------------------------------------------------------ runs and metrics

def test_a_run_goes_from_queued_to_running_with_its_fields(store):
    run = store.runs.create({"epochs": 2}, command=["orchestai", "train"], data_size=10, out_dir="/tmp/r")
    created = store.runs.get(run)
    assert (created["status"], created["config"], created["command"], created["data_size"]) == (
        "queued", {"epochs": 2}, ["orchestai", "train"], 10)
    store.runs.update(run, status="running", pid=123, summary={"best": 0.4}, epoch=1, best_val_loss=0.4)
    updated = store.runs.get(run)
    assert ((updated["status"], updated["pid"], updated["summary"], updated["epoch"])
            == ("running", 123, {"best": 0.4}, 1))
    assert [r["id"] for r in store.runs.list()] == [run]


def test_metrics_are_read_in_order_and_after_an_id(store):
    run = store.runs.create({})
    store.runs.add_metrics(run, [
        {"step": 1, "epoch": 0, "split": "train", "name": "loss", "value": 1.5, "wall_time": 0.1},
        {"step": 2, "epoch": 0, "split": "train", "name": "loss", "value": 1.2, "wall_time": 0.2},
        {"epoch": 0, "split": "val", "name": "loss", "value": 1.3, "wall_time": 0.3}])
    rows = store.runs.metrics(run)
    assert [(r["split"], r["value"]) for r in rows] == [("train", 1.5), ("train", 1.2), ("val", 1.3)]
    assert [r["value"] for r in store.runs.metrics(run, after_id=rows[0]["id"])] == [1.2, 1.3]
    assert store.runs.metrics(run, after_id=rows[-1]["id"]) == []


def test_runs_are_listed_newest_first_and_keep_their_own_metrics(store):
    a, b = store.runs.create({"n": 1}), store.runs.create({"n": 2})
    store.runs.add_metrics(a, [{"split": "train", "name": "loss", "value": 1, "wall_time": 0}])
    assert [r["id"] for r in store.runs.list()] == [b, a]
    assert store.runs.metrics(b) == []
    store.runs.delete(a)
    assert [r["id"] for r in store.runs.list()] == [b] and store.runs.metrics(a) == []


@pytest.mark.parametrize("fields, message", [({"status": "exploded"}, "unknown run status 'exploded'"),
                                             ({"colour": "red"}, "unknown run field"),
                                             ({"status": "running; --"}, "unknown run status")])
def test_bad_run_updates_are_refused(store, fields, message):
    run = store.runs.create({})
    with pytest.raises(StoreError, match=message):
        store.runs.update(run, **fields)
    assert store.runs.get(run)["status"] == "queued"


def test_unknown_runs_are_a_store_error(store):
    with pytest.raises(StoreError, match="unknown run 99"):
        store.runs.get(99)
    with pytest.raises(StoreError, match="unknown run 99"):
        store.runs.update(99, status="running")


def test_claim_device_refuses_a_busy_device_and_requeues_an_ended_run(store):
    same = lambda name: name in ("cpu",)  # noqa: E731
    first = store.runs.claim_device("cpu", same, config={"a": 1})
    assert store.runs.get(first)["status"] == "queued" and store.runs.get(first)["device"] == "cpu"
    with pytest.raises(DeviceBusyError, match=f"device cpu is busy with run {first}") as busy:
        store.runs.claim_device("cpu", same, config={"a": 2})
    assert busy.value.run["id"] == first and len(store.runs.list()) == 1
    assert store.runs.claim_device("cuda:0", lambda name: name == "cuda:0", config={"b": 1}) == first + 1
    assert store.runs.end_if_active(first, "stopped") and not store.runs.end_if_active(first, "crashed")
    assert store.runs.get(first)["status"] == "stopped"
    assert store.runs.claim_device("cpu", same, run_id=first) == first
    assert store.runs.get(first)["status"] == "queued" and store.runs.get(first)["ended_at"] is None
    with pytest.raises(StoreError, match="still active"):
        store.runs.claim_device("cpu", same, run_id=first)
    assert [r["id"] for r in store.runs.active()] == [first, first + 1]


def test_not_review_status_filters_out_one_status(store, make_log):
    store.logs.add([make_log(f"l{i}") for i in range(3)])
    store.logs.set_review(["l1"], "rejected", "ann")
    assert store.logs.ids(LogFilter(not_review_status="rejected")) == ["l0", "l2"]


def test_describe_reads_every_table_with_its_rows_and_columns_and_leaves_the_connection_as_it_was(store, make_log):
    store.logs.add([make_log("a"), make_log("b")])
    shape = store.describe()
    assert shape["logs"]["rows"] == 2 and "instruction" in shape["logs"]["columns"]
    assert {"revisions", "import_batches", "rejects", "runs", "metrics", "tools"} <= set(shape)
    assert store.conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 0
    assert store.logs.get("a")["id"] == "a"  # rows still come back as the store reads them
