"""The off-policy report of a planner's outcome model on held-out logs: predictions matched to the logged
steps in the planner's node order, the learned policy against the logging policy, calibration, the
cost-weight curve, and the stated fallback where choice_prob is missing. Planners here are small fakes
keeping `Planner.predict_outcomes`'s contract; one knows the generator's truth."""

import copy
import json
import math

import numpy as np
import pytest
from outcome_fixtures import StepOutcomes, TruthPlanner

from orchestai_core.catalogue import load_catalogue
from orchestai_core.outcomes.report import (
    THIN_EFFECTIVE_STEPS,
    calibration_report,
    has_outcome_model,
    policy_report,
    pscore_note,
    step_predictions,
    thin_note,
)
from orchestai_core.synth import generate_logs, logging_distribution
from orchestai_core.training_data import example_from_log


class MarkerPlanner:
    """Predicts, for node i of log number n, success (n·10 + i)/1000 for every worker: where each logged
    step's prediction came from can be read back."""

    worker_names = ["a", "b"]

    def __init__(self):
        self.order = {}

    def predict_outcomes(self, examples, batch_size=64):
        out = []
        for n, example in enumerate(examples):
            values = np.array([[(n * 10 + i) / 1000] * 2 for i in range(len(example.types))])
            out.append(StepOutcomes(values, np.full_like(values, 0.01), np.full_like(values, 100.0),
                                    np.ones_like(values, dtype=bool)))
        return out


def _task(id, worker, status, depends_on=(), prob=0.5):
    task = {"id": id, "type": "summarize", "description": id, "worker": worker, "depends_on": list(depends_on),
            "status": status}
    if status in ("success", "failed"):
        task |= {"cost_usd": 0.01, "latency_ms": 100.0}
    if prob is not None and worker:
        task["choice_prob"] = prob
    return task


def _log(id, subtasks):
    return {"id": id, "instruction": f"do {id}", "subtasks": subtasks}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def held_out(catalogue):
    return list(generate_logs(300, seed=5, catalogue=catalogue))


def test_predictions_are_taken_from_each_steps_node_in_the_planners_order():
    # log 1 lists its steps child first: s2 depends on s1, which comes second in the log
    logs = [_log("x", [_task("s1", "a", "success"), _task("s2", "b", "failed", ["s1"])]),
            _log("y", [_task("s2", "b", "success", ["s1"]), _task("s1", "a", "failed")])]
    predictions = step_predictions(MarkerPlanner(), logs)
    assert predictions.positions == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # y's s2 (logged first) is node 1 of log 1, y's s1 node 0
    assert predictions.p[:, 0].tolist() == [0.0, 0.001, 0.011, 0.010]
    assert predictions.steps.worker.tolist() == [0, 1, 1, 0]


def test_skipped_steps_and_steps_beyond_the_planners_nodes_are_left_out_and_counted(catalogue):
    logs = [_log("x", [_task("s1", "a", "success"), _task("s2", None, "skipped", ["s1"]),
                       _task("s3", "b", "failed")])]

    class TwoNodes(MarkerPlanner):  # as Planner does beyond max_nodes: NaN predictions
        def predict_outcomes(self, examples, batch_size=64):
            out = super().predict_outcomes(examples)
            for o in out:
                o.p_success[2:] = o.cost_usd[2:] = o.latency_ms[2:] = np.nan
            return out

    predictions = step_predictions(TwoNodes(), logs)
    # canonical order: s1, s2, s3 → s3 is node 2, beyond the two the planner takes
    assert predictions.positions == [(0, 0)]
    assert (predictions.skipped_steps, predictions.uncovered_steps) == (1, 1)


def test_a_worker_the_planner_does_not_know_is_named():
    logs = [_log("x", [_task("s1", "zeta", "success")])]
    with pytest.raises(ValueError, match="'zeta' is not among the 2 workers"):
        step_predictions(MarkerPlanner(), logs)


def _true_values(logs, planner, report, catalogue):
    """True success and cost per step of the report's learned policy and of the logging policy."""
    predictions = step_predictions(planner, logs)
    names = catalogue.names()
    rows = np.arange(len(predictions.positions))
    from orchestai_core.outcomes.policy_eval import policy_matrix

    choice = policy_matrix(predictions.p, predictions.cost, predictions.latency, report.cost_weight).argmax(1)
    logging = np.array([[logging_distribution(logs[li], si, catalogue)[w] for w in names]
                        for li, si in predictions.positions])
    return ({"success": predictions.p[rows, choice].mean(), "cost": predictions.cost[rows, choice].mean()},
            {"success": (logging * predictions.p).sum(1).mean(), "cost": (logging * predictions.cost).sum(1).mean()})


def test_report_on_synthetic_logs_estimates_the_learned_policys_true_value(held_out, catalogue):
    planner = TruthPlanner(held_out, catalogue)
    report = policy_report(planner, held_out, cost_weight=1.0, weights=(0.0, 1.0, 5.0), n_bootstrap=100)
    learned, logging = _true_values(held_out, planner, report, catalogue)
    dr = report.value("success", "dr")
    assert dr.low <= learned["success"] <= dr.high
    assert abs(dr.estimate - learned["success"]) < 0.02
    assert report.value("cost", "dr").estimate == pytest.approx(learned["cost"], rel=0.1)
    assert {r.estimator for r in report.estimates["success"]} == {"ips", "snips", "dr", "logged"}
    assert abs(report.value("success", "logged").estimate - logging["success"]) < 0.02
    # the truth is calibrated; the learned policy is cheaper than what was logged
    assert report.calibration["plain"].ece < 0.04 and report.calibration["weighted"].weighted
    assert learned["cost"] < logging["cost"]
    assert sum(report.learned_choices.values()) == pytest.approx(1.0)
    assert report.fallback_steps == 0 and report.notes == ()


def test_the_curve_sweeps_the_weights_beside_every_worker_random_and_logging(held_out, catalogue):
    report = policy_report(TruthPlanner(held_out, catalogue), held_out, weights=(0.0, 2.0), n_bootstrap=20)
    kinds = [(p.kind, p.label) for p in report.curve.points]
    assert kinds[:2] == [("weight", "w=0"), ("weight", "w=2")]
    assert [label for kind, label in kinds if kind == "worker"] == [f"only:{w}" for w in catalogue.names()]
    assert kinds[-2:] == [("uniform", "uniform"), ("logging", "logging")]
    cheap, dear = report.curve.points[1], report.curve.points[0]
    assert cheap.cost.estimate < dear.cost.estimate
    # what each point's estimates are worth: the logging policy all its steps, the others fewer
    assert report.curve.points[-1].effective_steps == report.steps
    assert all(0 < p.effective_steps < report.steps for p in report.curve.points[:-1] if p.kind != "uniform")
    assert report.effective_steps == pytest.approx(dear.effective_steps)  # the report's own weight is 0
    assert report.to_dict()["effective_steps"] == report.effective_steps
    assert report.to_dict()["curve"]["points"][0]["effective_steps"] == dear.effective_steps


def test_without_choice_prob_the_fallback_is_stated_and_every_step_still_counts(held_out, catalogue):
    logs = copy.deepcopy(held_out[:60])
    for log in logs:
        for task in log["subtasks"]:
            task.pop("choice_prob", None)
    report = policy_report(TruthPlanner(logs, catalogue), logs, weights=(0.0,), n_bootstrap=20)
    assert report.fallback_steps == report.steps > 0
    assert report.notes[0].startswith("No step carries choice_prob")
    assert "estimated as the share of the executed steps of the same type" in report.notes[0]
    assert report.to_dict()["fallback_steps"] == report.steps


def test_thin_note_warns_when_the_estimates_rest_on_few_logged_steps():
    assert thin_note(THIN_EFFECTIVE_STEPS, 10_000) is None
    assert thin_note(40.0, 60) is None  # a small evaluation, not a policy the log rarely agrees with
    note = thin_note(42.4, 5_000)
    assert note.startswith("the learned policy's estimates rest on about 42 effective logged steps of 5,000")
    assert "intervals are wide" in note


def test_a_policy_the_log_rarely_agrees_with_gets_the_thin_note(held_out, catalogue):
    logs = copy.deepcopy(held_out[:30])
    steps = [task for log in logs for task in log["subtasks"] if task.get("choice_prob") is not None]
    for i, task in enumerate(steps):  # propensities 1 … 1e-5: a few decisions weigh as much as all the others
        task["choice_prob"] = 10.0 ** -(i % 6)
    report = policy_report(TruthPlanner(logs, catalogue), logs, weights=(0.0,), n_bootstrap=10)
    assert report.effective_steps < THIN_EFFECTIVE_STEPS
    assert any(n.startswith("the learned policy's estimates rest on about") for n in report.notes)
    assert not any("effective logged steps" in n
                   for n in policy_report(TruthPlanner(held_out, catalogue), held_out, weights=(0.0,),
                                          n_bootstrap=10).notes)


def test_pscore_note_says_how_many_steps_fell_back():
    assert pscore_note(0, 10) is None
    assert pscore_note(10, 10).startswith("No step carries choice_prob")
    assert pscore_note(3, 10).startswith("3 of 10 steps carry no choice_prob")


def test_report_dict_is_json_with_undefined_estimates_as_null():
    # the learned policy (always "b": cheaper, predicted as good) never takes a logged worker ("a" only)
    logs = [_log(f"x{i}", [_task("s1", "a", "success" if i % 2 else "failed", prob=1.0)]) for i in range(6)]

    class Cheap(MarkerPlanner):
        def predict_outcomes(self, examples, batch_size=64):
            out = super().predict_outcomes(examples)
            for o in out:
                o.cost_usd[:, 0] = 0.05
            return out

    report = policy_report(Cheap(), logs, cost_weight=1.0, weights=(1.0,), n_bootstrap=10)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["estimates"]["success"]["snips"]["estimate"] is None
    assert data["choices"]["learned"] == {"a": 0.0, "b": 1.0}
    assert any("SNIPS is undefined" in note for note in data["notes"])
    assert set(data) >= {"estimates", "calibration", "curve", "choices", "workers", "steps", "notes"}
    assert math.isfinite(data["estimates"]["success"]["dr"]["estimate"])


def test_calibration_report_alone_and_outcome_model_detection(held_out, catalogue):
    result = calibration_report(TruthPlanner(held_out[:100], catalogue), held_out[:100], n_bins=5)
    assert set(result) == {"plain", "weighted"} and result["plain"].ece < 0.06
    assert has_outcome_model(MarkerPlanner())
    assert not has_outcome_model(object())

    class Flagged(MarkerPlanner):
        has_outcomes = False

    assert not has_outcome_model(Flagged())


def test_examples_are_built_from_the_logs_themselves():
    seen = []

    class Spy(MarkerPlanner):
        def predict_outcomes(self, examples, batch_size=64):
            seen.extend(examples)
            return super().predict_outcomes(examples)

    logs = [_log("x", [_task("s1", "a", "success")]),
            _log("y", [_task("s2", "b", "success", ["s1"]), _task("s1", "a", "failed")])]
    step_predictions(Spy(), logs)
    assert seen == [example_from_log(log) for log in logs]


def test_report_of_a_trained_tiny_planner_covers_every_executed_step(tiny_checkpoint):
    from orchestai_core.planner_api import Planner

    planner = Planner.load(tiny_checkpoint, "cpu")
    logs = list(generate_logs(20, seed=77))
    executed = sum(t["status"] in ("success", "failed") for log in logs for t in log["subtasks"])
    report = policy_report(planner, logs, cost_weight=1.0, weights=(0.0, 1.0), n_bootstrap=20)
    assert has_outcome_model(planner)
    assert report.steps == executed == report.calibration["plain"].n
    assert report.uncovered_steps == 0 and report.fallback_steps == 0
    assert report.worker_names == tuple(planner.worker_names)
    for metric in ("success", "cost", "latency"):
        dr = report.value(metric, "dr")
        assert dr.low <= dr.high and math.isfinite(dr.estimate)
    # the learned policy only picks workers allowed on the steps (those the training logs ran on the type)
    predictions = step_predictions(planner, logs)
    from orchestai_core.outcomes.policy_eval import policy_matrix

    choice = policy_matrix(predictions.p, predictions.cost, predictions.latency, 1.0, 0.0,
                           predictions.allowed).argmax(1)
    assert predictions.allowed[np.arange(len(choice)), choice].all()


def test_missing_latency_or_cost_is_filled_from_the_model_and_stated():
    logs = [_log("x", [_task("s1", "a", "success"), _task("s2", "b", "failed", ["s1"])])]
    del logs[0]["subtasks"][0]["latency_ms"]
    predictions = step_predictions(MarkerPlanner(), logs)
    assert predictions.imputed == {"latency": 1}
    assert predictions.steps.latency.tolist() == [100.0, 100.0]  # the model's 100 ms for the first
    report = policy_report(MarkerPlanner(), logs, weights=(0.0,), n_bootstrap=5)
    assert any(n.startswith("1 of 2 executed steps record no latency_ms") for n in report.notes)
