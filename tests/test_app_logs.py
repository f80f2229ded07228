"""The Logs page through AppTest: browse, open, edit, review, bulk review, history, conflicts."""

import copy
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from orchestai_core.store import LogFilter, Store
from workbench.components.dag_view import embedded_page

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "workbench" / "app.py")
PAGE = str(ROOT / "pages" / "logs.py")
XSS = "Translate <img src=x onerror=alert(1)> into French"


@pytest.fixture
def db(tmp_path, monkeypatch, make_log):
    path = tmp_path / "logs.db"
    store = Store.open(path)
    logs = [make_log(f"log-{i}", template=f"tpl-{i % 2}", instruction=f"Summarise report {i} for the board")
            for i in range(6)]
    logs[3]["instruction"] = XSS
    logs[4]["subtasks"][2]["status"] = "failed"
    store.logs.add(logs)
    monkeypatch.setenv("ORCHESTAI_DB", str(path))
    yield store
    store.close()


def _page(log_id=None, annotator="alice"):
    at = AppTest.from_file(PAGE, default_timeout=30)
    if annotator:
        at.session_state["annotator"] = annotator
    if log_id:
        at.query_params["log"] = log_id
    return at.run()


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def _matching(at):
    return at.caption[0].value.split("**")[1]


def _edit(at, log_id, revision, edited_rows=None, added_rows=(), deleted_rows=()):
    at.session_state[f"editor-{log_id}-{revision}"] = {
        "edited_rows": edited_rows or {}, "added_rows": list(added_rows), "deleted_rows": list(deleted_rows)}


def test_logs_page_is_registered_and_remembers_the_annotator_and_filters(db):
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("../pages/logs.py").run()
    assert not at.exception
    assert at.title[0].value == "Logs"
    at.sidebar.text_input(key="annotator").set_value("dana").run()
    at.selectbox(key="flt_template").set_value("tpl-0").run()
    at.switch_page("../pages/import_export.py").run()
    at.switch_page("../pages/logs.py").run()
    assert at.sidebar.text_input(key="annotator").value == "dana"
    assert at.selectbox(key="flt_template").value == "tpl-0"


def test_filters_show_counts_and_narrow_the_list(db):
    db.logs.set_review(["log-0"], "accepted", "bob")
    at = _page()
    assert not at.exception
    assert _matching(at) == "6"
    template = at.selectbox(key="flt_template")
    assert template.options == ["any", "tpl-0 (3)", "tpl-1 (3)"]
    assert at.selectbox(key="flt_review_status").options == ["any", "pending (5)", "accepted (1)"]
    template.set_value("tpl-1").run()
    assert _matching(at) == "3"
    assert list(at.dataframe[0].value["id"]) == ["log-1", "log-3", "log-5"]
    assert at.selectbox(key="flt_review_status").options == ["any", "pending (3)"]
    at.text_input(key="flt_search").set_value("french").run()
    assert _matching(at) == "1"
    assert list(at.dataframe[0].value["id"]) == ["log-3"]
    at.text_input(key="flt_search").set_value("").run()
    at.selectbox(key="list_sort").set_value("id").run()
    at.toggle(key="list_descending").set_value(True).run()
    assert list(at.dataframe[0].value["id"]) == ["log-5", "log-3", "log-1"]


def test_every_facet_offers_every_value_however_many_there_are(db, make_log):
    # 60 templates and workers on two logs each, then one on a single log: the rarest comes last
    many = [make_log(f"many-{i}-{j}", template=f"common-{i:02d}") for i in range(60) for j in range(2)]
    for log in many:
        log["subtasks"][0]["worker"] = f"worker-{log['template'][-2:]}"
    rare = make_log("rare", template="rare-template")
    rare["subtasks"][0]["worker"] = "rare-worker"
    db.logs.add([*many, rare])
    at = _page()
    template, worker = at.selectbox(key="flt_template"), at.selectbox(key="flt_worker")
    assert len(template.options) == 1 + 2 + 60 + 1 and template.options[-1] == "rare-template (1)"
    assert len(worker.options) == 1 + 2 + 60 + 1 and worker.options[-1] == "rare-worker (1)"
    template.set_value("rare-template").run()
    assert _matching(at) == "1" and list(at.dataframe[0].value["id"]) == ["rare"]
    template.set_value(None).run()
    at.selectbox(key="flt_worker").set_value("rare-worker").run()
    assert _matching(at) == "1" and list(at.dataframe[0].value["id"]) == ["rare"]


def test_list_pages_with_keyset_cursors(db, make_log):
    db.logs.add([make_log(f"more-{i:02d}") for i in range(24)])
    at = _page()
    at.selectbox(key="list_page_size").set_value(25).run()
    assert len(at.dataframe[0].value) == 25
    _button(at, "page_next").click().run()
    assert list(at.dataframe[0].value["id"]) == [f"more-{i:02d}" for i in range(19, 24)]
    assert "showing 26–30" in at.caption[0].value
    assert _button(at, "page_next").disabled
    _button(at, "page_back").click().run()
    assert list(at.dataframe[0].value["id"])[:2] == ["log-0", "log-1"]


def test_selecting_a_row_opens_the_log(db):
    at = _page()
    key = at.dataframe[0].key
    at.session_state[key] = {"selection": {"rows": [2], "columns": []}}
    at.run()
    assert at.query_params["log"] == "log-2"
    assert at.subheader[0].value == "Log log\\-2"


def test_open_log_shows_instruction_as_text_dag_timeline_and_totals(db):
    at = _page("log-3")
    assert not at.exception
    assert XSS in [t.value for t in at.text]
    srcdoc = embedded_page(at.get("html")[0].proto.body)
    assert "new vis.Network" in srcdoc and "<img" not in srcdoc.split("</script>", 1)[1]
    assert len(at.get("plotly_chart")) == 1
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Subtasks"] == "4"
    assert metrics["Total cost"] == "$0.0016"
    assert metrics["Wall time (critical path)"] == "2.90 s"
    assert metrics["Failed steps"] == "0"


def test_edit_save_writes_a_new_revision_with_note(db):
    at = _page("log-1")
    _edit(at, "log-1", 1, edited_rows={1: {"worker": "gpt-4o"}}, added_rows=[
        {"id": "s5", "type": "review", "depends_on": "s3, s4", "description": "Check both translations"}])
    at.run()
    assert 's2.worker: "gpt-4o-mini" → "gpt-4o"' in at.code[0].value
    at.text_input(key="note-log-1-1").set_value("stronger summariser, add review")
    _button(at, "save_revision").click().run()
    assert not at.exception
    assert any("as revision 2" in t.value for t in at.toast)
    revisions = db.logs.revisions("log-1")
    assert [(r["revision"], r["author"], r["note"]) for r in revisions] == [
        (1, "import", None), (2, "alice", "stronger summariser, add review")]
    saved = db.logs.get("log-1")
    assert saved["subtasks"][1]["worker"] == "gpt-4o"
    assert saved["subtasks"][4] == {"id": "s5", "type": "review", "description": "Check both translations",
                                    "depends_on": ["s3", "s4"]}
    assert db.logs.get("log-1", 1)["subtasks"][1]["worker"] == "gpt-4o-mini"  # nothing overwritten
    assert at.session_state["edit_base"]["log-1"] == 2


def test_invalid_edit_is_refused_with_the_reason(db):
    at = _page("log-1")
    _edit(at, "log-1", 1, edited_rows={0: {"depends_on": "s4"}, 2: {"type": None}})
    at.run()
    assert "row 3 (s3): type is empty" in at.error[0].value.replace("\\", "")
    assert _button(at, "save_revision").disabled
    _edit(at, "log-1", 1, edited_rows={0: {"depends_on": "s9"}})
    at.run()
    assert "depends on unknown subtask 's9'" in at.error[0].value.replace("\\", "")
    _edit(at, "log-1", 1, edited_rows={0: {"depends_on": "s4"}})
    at.run()
    assert "dependency cycle: s1 → s2 → s4 → s1" in at.error[0].value.replace("\\", "")
    assert _button(at, "save_revision").disabled
    assert len(db.logs.revisions("log-1")) == 1


def test_changes_need_an_annotator_name(db):
    at = _page("log-1", annotator=None)
    _edit(at, "log-1", 1, edited_rows={1: {"worker": "gpt-4o"}})
    at.run()
    assert _button(at, "save_revision").disabled
    assert _button(at, "act_accepted").disabled
    at.sidebar.text_input(key="annotator").set_value("carol").run()
    assert not _button(at, "save_revision").disabled


def test_history_shows_diffs_and_restores_as_a_new_revision(db):
    edited = copy.deepcopy(db.logs.get("log-2"))
    edited["subtasks"][0]["type"] = "ocr"
    db.logs.save_revision(edited, "bob", "use OCR", base_revision=1)
    at = _page("log-2")
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Revision 2 · bob") and "use OCR" in label for label in labels)
    second = next(e for e in at.expander if e.label.startswith("Revision 2"))
    assert [m.value for m in second.markdown] == ["**s1\\.type**"]
    assert [c.value for c in second.code] == ['before: "extract_text"', 'after: "ocr"']
    _button(at, "restore-1").click().run()
    assert not at.exception
    revisions = db.logs.revisions("log-2")
    assert [(r["revision"], r["author"], r["note"]) for r in revisions][-1] == (3, "alice", "restored revision 1")
    assert json.loads(revisions[2]["content"]) == json.loads(revisions[0]["content"])
    assert json.loads(revisions[1]["content"])["subtasks"][0]["type"] == "ocr"


def test_history_shows_a_long_instruction_in_full_and_wrapped_so_a_change_at_its_end_shows(db):
    long = db.logs.get("log-2")["instruction"] + ", then " + "check every figure twice, " * 12 + "and send it."
    edited = copy.deepcopy(db.logs.get("log-2"))
    edited["instruction"] = long
    db.logs.save_revision(edited, "bob", None, base_revision=1)
    edited = copy.deepcopy(edited)
    edited["instruction"] = long.replace("and send it.", "and file it.")
    db.logs.save_revision(edited, "bob", None, base_revision=2)
    at = _page("log-2")
    latest = next(e for e in at.expander if e.label.startswith("Revision 3"))
    before, after = latest.code[0], latest.code[1]
    assert before.value.endswith('and send it."') and after.value.endswith('and file it."')
    assert before.proto.wrap_lines and after.proto.wrap_lines


def test_review_buttons_set_status_and_open_the_next_pending(db):
    db.logs.set_review(["log-2"], "accepted", "bob")
    at = _page("log-1")
    at.text_input(key="review_note").set_value("clean decomposition")
    _button(at, "act_accepted").click().run()
    assert db.logs.row("log-1")["review_status"] == "accepted"
    assert db.logs.review_history("log-1")[-1]["note"] == "clean decomposition"
    assert at.query_params["log"] == "log-3"  # log-2 is not pending any more
    at.toggle(key="review_advance").set_value(False)
    _button(at, "act_rejected").click().run()
    assert db.logs.row("log-3")["review_status"] == "rejected"
    assert at.query_params["log"] == "log-3"
    _button(at, "act_next").click().run()
    assert at.query_params["log"] == "log-4"
    _button(at, "act_previous").click().run()
    assert at.query_params["log"] == "log-3"
    _button(at, "act_next_pending").click().run()
    assert at.query_params["log"] == "log-4"
    assert "| `A` | Accept |" in at.markdown[-1].value  # shortcuts are documented on the page


def test_bulk_change_applies_to_the_filter_after_confirmation(db):
    at = _page()
    at.selectbox(key="flt_template").set_value("tpl-0").run()
    at.selectbox(key="bulk_status").set_value("needs_fix").run()
    ask = _button(at, "bulk_ask")
    assert ask.label == "Set all 3 to needs fix…"
    ask.click().run()
    assert "**3** logs to **needs\\_fix**" in at.warning[0].value or "**3** logs" in at.warning[0].value
    assert db.logs.count(LogFilter(review_status="needs_fix")) == 0  # nothing before confirming
    _button(at, "bulk_confirm").click().run()
    assert not at.exception
    assert db.logs.ids(LogFilter(review_status="needs_fix")) == ["log-0", "log-2", "log-4"]
    assert db.logs.count(LogFilter(review_status="pending")) == 3
    assert db.logs.review_history("log-2")[-1]["annotator"] == "alice"


def test_bulk_cancel_changes_nothing(db):
    at = _page()
    _button(at, "bulk_ask").click().run()
    _button(at, "bulk_cancel").click().run()
    assert db.logs.count(LogFilter(review_status="pending")) == 6
    assert not at.warning


def test_saving_over_a_newer_revision_asks_instead_of_discarding(db):
    at = _page("log-0")  # alice opens revision 1
    theirs = copy.deepcopy(db.logs.get("log-0"))
    theirs["subtasks"][3]["worker"] = "gpt-4o"
    db.logs.save_revision(theirs, "bob", "bob's fix", base_revision=1)
    _edit(at, "log-0", 1, edited_rows={2: {"description": "French translation"}})
    at.run()
    _button(at, "save_revision").click().run()
    assert not at.exception
    warning = at.warning[0].value.replace("\\", "")
    assert "Not saved" in warning and "the latest is 2" in warning
    assert db.logs.row("log-0")["revision"] == 2  # bob's revision was not overwritten
    codes = [c.value for c in at.code]
    assert 's4.worker: "nllb-200" → "gpt-4o"' in codes  # their change
    assert 's3.description: null → "French translation"' in codes  # yours
    _button(at, "conflict_keep_mine").click().run()
    revisions = db.logs.revisions("log-0")
    assert [(r["author"], r["revision"]) for r in revisions] == [("import", 1), ("bob", 2), ("alice", 3)]
    assert "saved over revision 2" in revisions[2]["note"]
    assert json.loads(revisions[1]["content"])["subtasks"][3]["worker"] == "gpt-4o"


def test_conflict_can_drop_my_edits_and_load_the_latest(db):
    at = _page("log-0")
    theirs = copy.deepcopy(db.logs.get("log-0"))
    theirs["instruction"] = "Bob's instruction"
    db.logs.save_revision(theirs, "bob", None, base_revision=1)
    _edit(at, "log-0", 1, edited_rows={2: {"description": "mine"}})
    at.run()
    _button(at, "save_revision").click().run()
    _button(at, "conflict_load_latest").click().run()
    assert at.session_state["edit_base"]["log-0"] == 2
    assert at.text_area(key="instruction-log-0-2").value == "Bob's instruction"
    assert db.logs.row("log-0")["revision"] == 2


def test_unknown_log_in_the_address_is_reported(db):
    at = _page("nope")
    assert not at.exception
    assert "There is no log nope" in at.warning[0].value


def _editor(at, log_id, revision):
    return next(f for f in at.dataframe if f.key == f"editor-{log_id}-{revision}")


def test_choice_prob_is_shown_edited_with_validation_and_kept_by_edits_elsewhere(db):
    log = db.logs.get("log-2")
    log["subtasks"][1]["choice_prob"] = 0.8
    db.logs.save_revision(log, "bob")
    at = _page("log-2")
    assert not at.exception
    workflow_table = next(f for f in at.dataframe if f.key is None)
    assert workflow_table.value["choice_prob"].tolist()[1] == 0.8
    assert list(_editor(at, "log-2", 2).value["choice_prob"])[1] == 0.8
    _edit(at, "log-2", 2, edited_rows={1: {"choice_prob": 0}})
    at.run()
    assert "row 2 (s2): choice_prob: must be in (0, 1], got 0" in at.error[0].value.replace("\\", "")
    assert _button(at, "save_revision").disabled
    _edit(at, "log-2", 2, edited_rows={1: {"choice_prob": 0.35}})
    at.run()
    assert "s2.choice_prob: 0.8 → 0.35" in at.code[0].value
    _button(at, "save_revision").click().run()
    assert db.logs.get("log-2")["subtasks"][1]["choice_prob"] == 0.35
    at.text_area(key="instruction-log-2-3").set_value("Summarise report 2 for the board, briefly").run()
    _button(at, "save_revision").click().run()
    assert not at.exception
    saved = db.logs.get("log-2")
    assert saved == {**db.logs.get("log-2", 3), "instruction": "Summarise report 2 for the board, briefly"}
    assert saved["subtasks"][1]["choice_prob"] == 0.35


def test_changing_a_worker_but_not_its_choice_prob_warns_and_still_saves(db):
    log = db.logs.get("log-2")
    log["subtasks"][1]["choice_prob"] = 0.8
    db.logs.save_revision(log, "bob")
    at = _page("log-2")
    _edit(at, "log-2", 2, edited_rows={1: {"worker": "gpt-4o"}})
    at.run()
    assert "choice_prob 0.8 is still the probability of choosing 'gpt-4o-mini'" in at.warning[0].value.replace("\\", "")
    assert not _button(at, "save_revision").disabled
