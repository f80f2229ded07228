"""Curation services: filters from widget state, facets, neighbours, the edit table, validation, diffs."""

import copy
from datetime import date

import pytest

from orchestai_core.schema import canonical_json
from orchestai_core.store import LogFilter, StoreError
from workbench.services.curation import (
    choice_prob_warnings,
    describe_filter,
    edit_problems,
    facets,
    filter_from_state,
    log_from_table,
    neighbour,
    revision_diff,
    subtasks_table,
    worker_facet,
)


@pytest.fixture
def filled(store, make_log):
    logs = [make_log(f"log-{i}", template=f"tpl-{i % 2}", total_cost_usd=float(i), instruction=f"job {i}")
            for i in range(6)]
    store.logs.add(logs)
    return store


def test_filter_from_widget_state_maps_every_widget():
    state = {"flt_review_status": "pending", "flt_template": "", "flt_worker": "gpt-4o", "flt_success": False,
             "flt_min_cost": 0.5, "flt_max_latency": 900.0, "flt_min_subtasks": 2, "flt_search": "  french ",
             "flt_dates": (date(2024, 1, 2), date(2024, 1, 31))}
    flt = filter_from_state(state)
    assert flt == LogFilter(review_status="pending", worker="gpt-4o", success=False, min_cost=0.5,
                            max_latency=900.0, min_subtasks=2, search="french", created_from="2024-01-02",
                            created_to="2024-01-31\uffff")
    assert "2024-01-31T23:59:59+00:00" <= flt.created_to
    assert filter_from_state({}) == LogFilter()


def test_describe_filter_in_words():
    assert describe_filter(LogFilter()) == "all logs"
    assert describe_filter(LogFilter(template="t", success=False, created_to="2024-01-31\uffff")) == \
        "template 't', success False, created to '2024-01-31'"


def test_facets_count_under_the_other_filters_only(filled):
    filled.logs.set_review(["log-0", "log-1"], "accepted", "ann")
    counts = facets(filled, LogFilter(review_status="accepted"))
    assert dict(counts["review_status"]) == {"pending": 4, "accepted": 2}  # its own filter is ignored
    assert dict(counts["template"]) == {"tpl-0": 1, "tpl-1": 1}
    assert dict(counts["worker"]) == {"gpt-4o-mini": 2, "nllb-200": 2}


def test_worker_facet_matches_the_store_and_follows_new_revisions(filled):
    filled.logs.set_review(["log-1"], "accepted", "ann")
    for flt in (LogFilter(), LogFilter(review_status="accepted"), LogFilter(template="tpl-0"), LogFilter(search="job")):
        assert dict(worker_facet(filled, flt)) == dict(filled.logs.facet("worker", flt))
    edited = filled.logs.get("log-1")
    edited["subtasks"][0]["worker"] = "gpt-4o"
    filled.logs.save_revision(edited, "ann", base_revision=1)
    assert worker_facet(filled, LogFilter(review_status="accepted")) == [
        ("gpt-4o", 1), ("gpt-4o-mini", 1), ("nllb-200", 1)]
    assert worker_facet(filled, LogFilter(template="nope")) == []


def test_neighbour_follows_the_list_order(filled):
    flt = LogFilter()
    assert neighbour(filled, "log-2", flt, "total_cost_usd") == "log-3"
    assert neighbour(filled, "log-2", flt, "total_cost_usd", forward=False) == "log-1"
    assert neighbour(filled, "log-2", flt, "total_cost_usd", descending=True) == "log-1"
    assert neighbour(filled, "log-5", flt, "total_cost_usd") is None
    assert neighbour(filled, "log-0", LogFilter(template="tpl-0")) == "log-2"


def test_next_pending_skips_reviewed_logs_and_wraps_round(filled):
    filled.logs.set_review(["log-3", "log-4"], "accepted", "ann")
    assert neighbour(filled, "log-2", LogFilter(), pending_only=True) == "log-5"
    assert neighbour(filled, "log-5", LogFilter(), pending_only=True) == "log-0"
    filled.logs.set_review(["log-0", "log-1", "log-2", "log-5"], "rejected", "ann")
    assert neighbour(filled, "log-5", LogFilter(), pending_only=True) is None


def test_store_lists_ids_and_cursors_for_curation(filled):
    assert filled.logs.ids(LogFilter(template="tpl-1")) == ["log-1", "log-3", "log-5"]
    assert filled.logs.cursor("log-3", "total_cost_usd") == (3.0, 4)
    assert filled.logs.rowids(LogFilter(template="tpl-1")) == [2, 4, 6]
    content, reviews = filled.logs.content_mark(), filled.logs.review_mark()
    filled.logs.set_review(["log-1"], "accepted", "ann")
    assert (filled.logs.content_mark(), filled.logs.review_mark()) == (content, reviews + 1)
    filled.logs.save_revision(filled.logs.get("log-1") | {"instruction": "changed"}, "ann")
    assert filled.logs.content_mark() > content
    with pytest.raises(StoreError, match="unknown log 'nope'"):
        filled.logs.cursor("nope")
    with pytest.raises(StoreError, match="cannot sort by"):
        filled.logs.cursor("log-3", "rowid; DROP TABLE logs")


def test_unchanged_table_gives_back_the_same_log(spec_example):
    spec_example["subtasks"][0]["worker_probs"] = {"gpt-4o-mini": 1.0}
    rows = subtasks_table(spec_example["subtasks"])
    assert rows[1]["depends_on"] == "s1"
    # What the editor hands back: floats for every number, NaN-free None for blanks.
    rows = [{k: (float(v) if k in ("cost_usd", "latency_ms") and v is not None else v) for k, v in r.items()}
            for r in rows]
    assert canonical_json(log_from_table(spec_example, rows)) == canonical_json(spec_example)


def test_table_edits_become_the_new_subtasks(spec_example):
    rows = subtasks_table(spec_example["subtasks"])
    rows[1].update(worker="gpt-4o", description="Summarise in 5 bullet points", latency_ms=2000.0)
    del rows[3]
    rows.append({"id": "s5", "type": "translate", "depends_on": "s2, s3", "tokens_in": 120.0, "worker": None,
                 "description": "   ", "cost_usd": float("nan")})
    log = log_from_table(spec_example, rows, instruction="Summarize and translate to French.")
    assert log["instruction"] == "Summarize and translate to French."
    assert [t["id"] for t in log["subtasks"]] == ["s1", "s2", "s3", "s5"]
    assert log["subtasks"][1]["worker"] == "gpt-4o" and log["subtasks"][1]["latency_ms"] == 2000
    assert log["subtasks"][3] == {"id": "s5", "type": "translate", "depends_on": ["s2", "s3"], "tokens_in": 120}
    assert edit_problems(log) == []


def _edited(spec_example, change):
    rows = subtasks_table(spec_example["subtasks"])
    change(rows)
    return log_from_table(spec_example, rows)


@pytest.mark.parametrize("change, problem", [
    (lambda rows: rows[2].update(type=""), "row 3 (s3): type is empty"),
    (lambda rows: rows[2].update(id=" "), "row 3: id is empty"),
    (lambda rows: rows[3].update(id="s3"), "row 4 (s3): id 's3' is already used by row 3"),
    (lambda rows: rows[2].update(depends_on="s2, s9"), "row 3 (s3): depends on unknown subtask 's9'"),
    (lambda rows: rows[2].update(depends_on="s3"), "row 3 (s3): depends on itself"),
    (lambda rows: rows[0].update(depends_on="s4"), "dependency cycle: s1 → s2 → s4 → s1"),
    (lambda rows: rows[1].update(status="done"), "row 2 (s2): status: unknown value 'done'"),
    (lambda rows: rows.clear(), "a log needs at least one subtask"),
])
def test_invalid_edits_say_what_is_wrong_and_where(spec_example, change, problem):
    problems = edit_problems(_edited(spec_example, change))
    assert any(p.startswith(problem) for p in problems), problems


def test_choice_prob_is_a_column_kept_when_untouched_changed_when_edited_and_dropped_when_cleared(spec_example):
    spec_example["subtasks"][0]["choice_prob"] = 1
    spec_example["subtasks"][1]["choice_prob"] = 0.8
    spec_example["subtasks"][2]["choice_prob"] = 0.5
    rows = subtasks_table(spec_example["subtasks"])
    assert [r["choice_prob"] for r in rows] == [1, 0.8, 0.5, None]
    rows = [{**r, "choice_prob": float("nan") if r["choice_prob"] is None else float(r["choice_prob"])}
            for r in rows]  # what the editor hands back
    assert canonical_json(log_from_table(spec_example, rows)) == canonical_json(spec_example)  # 1 stays 1
    rows[1]["choice_prob"], rows[2]["choice_prob"], rows[3]["choice_prob"] = 0.35, None, 1.0
    edited = log_from_table(spec_example, rows)["subtasks"]
    assert [t.get("choice_prob") for t in edited] == [1, 0.35, None, 1.0]
    assert "choice_prob" not in edited[2]


@pytest.mark.parametrize("change, problem", [
    (lambda rows: rows[1].update(choice_prob=0.0), "row 2 (s2): choice_prob: must be in (0, 1], got 0.0"),
    (lambda rows: rows[1].update(choice_prob=1.5), "row 2 (s2): choice_prob: must be in (0, 1], got 1.5"),
    (lambda rows: rows[1].update(choice_prob=0.5, worker=None), "row 2 (s2): choice_prob: given without a worker"),
])
def test_an_edited_choice_prob_outside_0_1_or_without_worker_is_refused(spec_example, change, problem):
    problems = edit_problems(_edited(spec_example, change))
    assert any(p.startswith(problem) for p in problems), problems


def test_changing_a_worker_but_not_its_choice_prob_is_warned_about(spec_example):
    spec_example["subtasks"][1]["choice_prob"] = 0.8
    spec_example["subtasks"][2]["choice_prob"] = 0.6
    rows = subtasks_table(spec_example["subtasks"])
    rows[1]["worker"] = "gpt-4o"                                  # same choice_prob: stale
    rows[2].update(worker="gpt-4o", choice_prob=0.3)             # re-entered: fine
    rows[3]["worker"] = "gpt-4o"                                  # no choice_prob: fine
    edited = log_from_table(spec_example, rows)
    assert edit_problems(edited) == []
    assert choice_prob_warnings(spec_example, edited) == [
        "row 2 (s2): the worker changed from 'gpt-4o-mini' to 'gpt-4o' but choice_prob 0.8 is still the "
        "probability of choosing 'gpt-4o-mini': clear it or enter the new worker's, unless only the name was wrong"]
    assert choice_prob_warnings(spec_example, spec_example) == []


def test_empty_instruction_is_refused(spec_example):
    log = log_from_table(spec_example, subtasks_table(spec_example["subtasks"]), instruction="  ")
    assert edit_problems(log) == ["the instruction is empty"]


def test_revision_diff_reads_as_a_change_list(spec_example):
    new = copy.deepcopy(spec_example)
    new["instruction"] = "Summarize it."
    new["subtasks"][1]["worker"] = "gpt-4o"
    new["subtasks"].pop(3)
    new["subtasks"].append({"id": "s5", "type": "review", "depends_on": ["s3"]})
    assert revision_diff(spec_example, new) == [
        'instruction: "Summarize the attached report and translate the summary into French and German." → '
        '"Summarize it."',
        "− subtask s4 (translate) removed",
        's2.worker: "gpt-4o-mini" → "gpt-4o"',
        "+ subtask s5 (review) added",
    ]
    assert revision_diff(None, spec_example) == ["first revision: 4 subtasks"]
    assert revision_diff(spec_example, copy.deepcopy(spec_example)) == ["no change in content"]
    swapped = copy.deepcopy(spec_example)
    swapped["subtasks"][2], swapped["subtasks"][3] = swapped["subtasks"][3], swapped["subtasks"][2]
    assert revision_diff(spec_example, swapped) == ["subtask order changed"]
