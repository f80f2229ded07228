"""The Planner page's service: checked instructions, the cached planner, table rows, export and curation logs."""

import json
import os
import shutil

import pytest

from orchestai_core.checkpoints import CheckpointError
from orchestai_core.schema import validate_log
from orchestai_core.store import LogFilter
from workbench.services.planning import (
    EXAMPLES,
    MAX_INSTRUCTION_CHARS,
    InstructionError,
    agreement,
    check_instruction,
    curation_log,
    dag_problem,
    export_json,
    get_planner,
    plan_id_for,
    plan_instruction,
    send_to_curation,
    subtask_rows,
)

PLAN = {
    "id": "plan-1", "instruction": "Summarise the report and translate it",
    "subtasks": [
        {"id": "s1", "type": "summarize", "worker": "gpt-4o-mini", "depends_on": [],
         "worker_probs": {"gpt-4o-mini": 0.7, "gpt-4o": 0.2, "llama-3-8b": 0.1},
         "est_cost_usd": 0.001, "est_latency_ms": 900.0},
        {"id": "s2", "type": "translate", "worker": "nllb-200", "depends_on": ["s1"],
         "worker_probs": {"gpt-4o": 0.3, "nllb-200": 0.6}, "est_cost_usd": 0.0002, "est_latency_ms": 400.0},
        {"id": "s3", "type": "translate", "worker": "nllb-200", "depends_on": ["s1"],
         "worker_probs": {"nllb-200": 1.0}, "est_cost_usd": 0.0002, "est_latency_ms": 300.0},
    ],
    "est_cost_usd": 0.0014, "est_latency_ms": 1300.0, "critical_path": ["s1", "s2"],
    "meta": {"raw_adjacency_acyclic": True, "planning_ms": 3.0, "beam": 3},
}


@pytest.fixture(scope="module")
def planner(tiny_checkpoint):
    return get_planner(tiny_checkpoint)


def test_instructions_are_stripped_and_bad_ones_refused_with_one_line():
    assert check_instruction("  Plan a trip \n") == "Plan a trip"
    for bad, reason in ((None, "empty"), ("", "empty"), (" \t\n ", "empty"),
                        ("x" * (MAX_INSTRUCTION_CHARS + 1), "at most 2,000")):
        with pytest.raises(InstructionError, match=reason) as caught:
            check_instruction(bad)
        assert "\n" not in str(caught.value)
    assert check_instruction("x" * MAX_INSTRUCTION_CHARS) == "x" * MAX_INSTRUCTION_CHARS


def test_rows_show_the_chosen_worker_its_probability_and_the_next_two():
    rows = subtask_rows(PLAN)
    assert [(r["step"], r["worker"], r["probability"]) for r in rows] == [
        ("s1", "gpt-4o-mini", 0.7), ("s2", "nllb-200", 0.6), ("s3", "nllb-200", 1.0)]
    assert (rows[0]["alternative 1"], rows[0]["alternative 2"]) == ("gpt-4o (20%)", "llama-3-8b (10%)")
    assert (rows[1]["alternative 1"], rows[1]["alternative 2"]) == ("gpt-4o (30%)", "—")
    assert [r["critical path"] for r in rows] == [True, True, False]
    assert rows[2]["depends on"] == "s1" and rows[2]["est. latency (ms)"] == 300.0
    assert [r["runs"] for r in rows] == [None] * 3  # no outcome model: no runs behind a prediction


def test_rows_of_an_outcome_plan_show_the_runs_behind_the_chosen_workers_prediction():
    plan = json.loads(json.dumps(PLAN))
    plan["subtasks"][0].update(p_success=0.9, worker_outcomes={
        "gpt-4o-mini": {"p_success": 0.9, "est_cost_usd": 0.001, "est_latency_ms": 900.0, "logged_runs": 412},
        "gpt-4o": {"p_success": 0.95, "est_cost_usd": 0.01, "est_latency_ms": 1500.0, "logged_runs": 3}})
    row = subtask_rows(plan)[0]
    assert row["runs"] == 412 and row["alternative 1"] == "gpt-4o (95%, $0.0100)"


def test_a_plan_with_a_cycle_or_unknown_step_is_reported():
    assert dag_problem(PLAN) is None
    cyclic = json.loads(json.dumps(PLAN))
    cyclic["subtasks"][0]["depends_on"] = ["s2"]
    assert "dependency cycle" in dag_problem(cyclic)
    cyclic["subtasks"][0]["depends_on"] = ["s9"]
    assert "unknown subtask id 's9'" in dag_problem(cyclic)


def test_curation_log_is_valid_pending_material_without_plan_only_fields():
    log = curation_log(PLAN, "/ckpt/best.pth", 1.5)
    assert validate_log(log) is log
    assert log["source"] == "planner" and log["instruction"] == PLAN["instruction"]
    assert log["subtasks"] == [{"id": t["id"], "type": t["type"], "worker": t["worker"],
                                "depends_on": t["depends_on"]} for t in PLAN["subtasks"]]
    kept = log["meta"]["planner"]
    assert kept["checkpoint"] == "/ckpt/best.pth" and kept["cost_weight"] == 1.5 and kept["beam"] == 3
    assert kept["steps"]["s2"] == {"worker_probs": {"gpt-4o": 0.3, "nllb-200": 0.6}, "est_cost_usd": 0.0002,
                                   "est_latency_ms": 400.0}
    assert kept["critical_path"] == ["s1", "s2"]
    assert curation_log(PLAN, "x", 0.0)["id"] != log["id"]
    assert "worker_probs" in PLAN["subtasks"][0]  # the plan itself is left alone


def test_send_to_curation_stores_a_pending_planner_log(store):
    log_id = send_to_curation(store, PLAN, "/ckpt/best.pth", 0.0)
    row = store.logs.row(log_id)
    assert (row["review_status"], row["source"], row["n_subtasks"]) == ("pending", "planner", 3)
    assert store.logs.get(log_id)["subtasks"][1] == {"id": "s2", "type": "translate", "worker": "nllb-200",
                                                     "depends_on": ["s1"]}
    assert store.logs.ids(LogFilter(source="planner")) == [log_id]


def test_export_is_the_plan_with_how_it_was_made():
    exported = json.loads(export_json(PLAN, "/ckpt/best.pth", 2.0))
    assert exported["subtasks"] == PLAN["subtasks"]
    assert exported["critical_path"] == ["s1", "s2"] and exported["est_latency_ms"] == 1300.0
    assert exported["meta"] == {"raw_adjacency_acyclic": True, "planning_ms": 3.0, "beam": 3,
                                "checkpoint": "/ckpt/best.pth", "cost_weight": 2.0}
    assert "checkpoint" not in PLAN["meta"]


def test_agreement_of_a_plan_with_itself_and_with_a_smaller_one():
    assert agreement(PLAN, PLAN) == {"node_f1": 1.0, "edge_f1": 1.0, "same_steps": True, "same_workers": 3,
                                     "matched": 3}
    smaller = {**PLAN, "subtasks": PLAN["subtasks"][:2]}
    match = agreement(PLAN, smaller)
    assert match["node_f1"] == pytest.approx(0.8) and match["same_steps"] is False
    assert (match["same_workers"], match["matched"]) == (2, 2)


def test_the_planner_is_loaded_once_per_file_version(tiny_checkpoint, tmp_path):
    path = tmp_path / "phase1_best_model.pth"
    shutil.copy(tiny_checkpoint, path)
    first = get_planner(path)
    assert get_planner(path) is first
    stamp = path.stat().st_mtime + 5
    os.utime(path, (stamp, stamp))
    assert get_planner(path) is not first


def test_plans_of_the_tiny_planner_are_valid_dags_in_the_spec_shape(planner):
    planned = plan_instruction(planner, EXAMPLES[0])
    plan = planned.plan
    assert plan["id"] == plan_id_for(EXAMPLES[0]) and plan["instruction"] == EXAMPLES[0]
    assert dag_problem(plan) is None and planned.ms > 0
    assert set(plan) >= {"subtasks", "est_cost_usd", "est_latency_ms", "critical_path"}
    assert len(subtask_rows(plan)) == len(plan["subtasks"])
    assert validate_log(curation_log(plan, "tiny", 0.0))


def test_a_high_cost_weight_keeps_the_steps_and_never_costs_more(planner):
    quality = plan_instruction(planner, EXAMPLES[2], cost_weight=0.0).plan
    cheap = plan_instruction(planner, EXAMPLES[2], cost_weight=1000.0).plan
    assert [t["type"] for t in cheap["subtasks"]] == [t["type"] for t in quality["subtasks"]]
    assert cheap["est_cost_usd"] <= quality["est_cost_usd"]
    for task in cheap["subtasks"]:  # every step runs on the cheapest worker allowed for it
        assert task["est_cost_usd"] == min(o["est_cost_usd"] for o in task["worker_outcomes"].values())


def test_a_missing_or_damaged_checkpoint_is_a_one_line_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        get_planner(tmp_path / "gone.pth")
    damaged = tmp_path / "phase1_best_model.pth"
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        get_planner(damaged)
