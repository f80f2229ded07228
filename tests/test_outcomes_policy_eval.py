"""Off-policy evaluation of worker selection: known answers on hand-made logs, and on synthetic logs with a
perfect outcome model the estimates land on the true values of the generator."""

import json
import math

import numpy as np
import pytest

from orchestai_core.catalogue import load_catalogue
from orchestai_core.outcomes.policy_eval import (
    LoggedSteps,
    cost_quality_curve,
    evaluate_policy,
    logged_outcomes,
    model_policy,
    policy_matrix,
    steps_from_logs,
)
from orchestai_core.outcomes.selection import best_workers
from orchestai_core.synth import expected_cost, generate_logs, success_matrix
from orchestai_core.synth.tasks import TASK_TYPES

ALWAYS_FIRST = np.array([[1.0, 0.0]] * 4)


def _hand_steps(**changes) -> LoggedSteps:
    fields = dict(worker=np.array([0, 1, 0, 1]), choice_prob=np.array([0.5, 0.25, 0.25, 0.75]),
                  success=np.array([1.0, 0.0, 1.0, 1.0]), cost=np.array([0.2, 0.1, 0.4, 0.1]),
                  latency=np.array([100.0, 50.0, 300.0, 60.0]))
    return LoggedSteps(**{**fields, **changes})


P_HAT = np.array([[0.8, 0.5], [0.6, 0.4], [0.5, 0.5], [0.9, 0.7]])
COST_HAT = np.array([[0.3, 0.1], [0.3, 0.1], [0.3, 0.1], [0.3, 0.1]])
LATENCY_HAT = np.full((4, 2), 100.0)


def test_estimates_of_a_hand_made_log_match_the_hand_computed_values():
    outcomes = logged_outcomes(_hand_steps(), P_HAT, COST_HAT, LATENCY_HAT)
    table = evaluate_policy(outcomes, ALWAYS_FIRST, n_bootstrap=50)
    # weights π/pscore on the logged worker: [2, 0, 4, 0]
    assert table.value("success", "ips").estimate == pytest.approx((2 * 1 + 4 * 1) / 4)
    assert table.value("success", "snips").estimate == pytest.approx(6 / 6)
    assert table.value("success", "dm").estimate == pytest.approx((0.8 + 0.6 + 0.5 + 0.9) / 4)
    assert table.value("success", "dr").estimate == pytest.approx(0.7 + (2 * (1 - 0.8) + 4 * (1 - 0.5)) / 4)
    assert table.value("success", "logged").estimate == pytest.approx(0.75)
    assert table.value("cost", "ips").estimate == pytest.approx((2 * 0.2 + 4 * 0.4) / 4)
    assert table.value("cost", "dr").estimate == pytest.approx(0.3 + (2 * (0.2 - 0.3) + 4 * (0.4 - 0.3)) / 4)
    assert table.value("latency", "logged").estimate == pytest.approx(127.5)
    for rows in table.rows.values():
        assert [r.estimator for r in rows] == ["ips", "snips", "dr", "dm", "logged"]
        assert all(r.low <= r.high for r in rows)
    json.dumps(table.to_dict())


def test_skipped_steps_are_not_decisions_and_change_nothing():
    base = evaluate_policy(logged_outcomes(_hand_steps(), P_HAT, COST_HAT, LATENCY_HAT), ALWAYS_FIRST,
                           n_bootstrap=20)
    steps = _hand_steps(worker=np.array([0, 1, 0, 1, 1]), choice_prob=np.array([0.5, 0.25, 0.25, 0.75, np.nan]),
                        success=np.array([1.0, 0.0, 1.0, 1.0, np.nan]), cost=np.array([0.2, 0.1, 0.4, 0.1, 0.0]),
                        latency=np.array([100.0, 50.0, 300.0, 60.0, 0.0]),
                        skipped=np.array([False, False, False, False, True]))
    grow = lambda m: np.vstack([m, m[:1]])  # noqa: E731
    outcomes = logged_outcomes(steps, grow(P_HAT), grow(COST_HAT), grow(LATENCY_HAT))
    assert outcomes.skipped_steps == 1 and outcomes.fallback_steps == 0 and len(outcomes) == 4
    assert evaluate_policy(outcomes, ALWAYS_FIRST, n_bootstrap=20) == base


def test_the_intervals_resample_whole_logs_and_the_estimates_do_not_depend_on_them():
    plain = logged_outcomes(_hand_steps(), P_HAT, COST_HAT, LATENCY_HAT)
    steps = _hand_steps(log=np.array([0, 0, 1, 1]), skipped=np.array([False, False, False, False]))
    outcomes = logged_outcomes(steps, P_HAT, COST_HAT, LATENCY_HAT)
    assert all(f.groups.tolist() == [0, 0, 1, 1] for f in outcomes.by_metric().values())
    by_log, by_step = (evaluate_policy(o, ALWAYS_FIRST, n_bootstrap=200) for o in (outcomes, plain))
    for metric in ("success", "cost", "latency"):
        for a, b in zip(by_log.rows[metric], by_step.rows[metric]):
            assert a.estimate == pytest.approx(b.estimate)
    # two logs of two steps: a resample holds each log 0, 1 or 2 times, so the logging policy's logged
    # success rate (log 0: 1 of 2, log 1: 2 of 2) can only be 0.5, 0.75 or 1
    logged = by_log.value("success", "logged")
    assert {logged.low, logged.high} <= {0.5, 0.75, 1.0}
    # a skipped step leaves its log's other steps in it
    skipping = _hand_steps(log=np.array([0, 0, 1, 1]), skipped=np.array([False, True, False, False]))
    kept = logged_outcomes(skipping, P_HAT, COST_HAT, LATENCY_HAT)
    assert kept.success.groups.tolist() == [0, 1, 1]


def test_a_missing_choice_prob_falls_back_to_the_workers_frequency_for_the_step_type():
    steps = _hand_steps(choice_prob=np.array([0.5, np.nan, np.nan, 0.75]),
                        step_type=("summarize", "summarize", "translate", "summarize"))
    outcomes = logged_outcomes(steps, P_HAT, COST_HAT, LATENCY_HAT)
    assert outcomes.fallback_steps == 2
    # summarize steps used workers 0, 1, 1: worker 1 has frequency 2/3; translate used only worker 0
    assert outcomes.success.pscore == pytest.approx([0.5, 2 / 3, 1.0, 0.75])
    with pytest.raises(ValueError, match="choice_prob is missing for 2 steps: give step_type"):
        logged_outcomes(_hand_steps(choice_prob=np.array([0.5, np.nan, np.nan, 0.75])), P_HAT, COST_HAT, LATENCY_HAT)


def test_the_policy_matrix_is_the_one_hot_utility_choice_within_the_mask():
    p, cost, latency = np.array([[0.9, 0.85, 0.2]]), np.array([[1.0, 0.1, 0.01]]), np.ones((1, 3))
    assert policy_matrix(p, cost, latency, cost_weight=1.0).tolist() == [[0.0, 1.0, 0.0]]
    masked = policy_matrix(p, cost, latency, cost_weight=1.0, allowed=np.array([[True, False, True]]))
    assert masked.tolist() == [[0.0, 0.0, 1.0]]


def test_steps_are_read_from_logs_leaving_out_skipped_ones():
    logs = [{"id": "a", "subtasks": [
        {"id": "s1", "type": "summarize", "worker": "big", "choice_prob": 0.9, "status": "failed",
         "cost_usd": 0.01, "latency_ms": 900},
        {"id": "s2", "type": "translate", "worker": "small", "status": "skipped", "cost_usd": 0, "latency_ms": 0},
        {"id": "s3", "type": "translate", "worker": "small", "status": "success", "cost_usd": 0.001,
         "latency_ms": 100}]}]
    steps, positions = steps_from_logs(logs, ["big", "small"])
    assert positions == [(0, 0), (0, 2)]
    assert steps.worker.tolist() == [0, 1] and steps.success.tolist() == [0.0, 1.0]
    assert steps.choice_prob[0] == 0.9 and math.isnan(steps.choice_prob[1])
    assert steps.step_type == ("summarize", "translate")
    assert steps.log.tolist() == [0, 0]  # the unit the bootstrap resamples
    with pytest.raises(ValueError, match="log 'a' subtask 's1': worker 'big' is not among the 1 workers"):
        steps_from_logs(logs, ["small"])


@pytest.mark.parametrize("changes, message", [
    ({"success": np.array([1.0, 0.5, 1.0, 1.0])}, r"success\[1\] must be 0 or 1"),
    ({"cost": np.array([0.2, -0.1, 0.4, 0.1])}, r"cost\[1\] must be a finite number"),
    ({"worker": np.array([0.0, 1.0, 0.0, 1.0])}, "integer worker index"),
    ({"latency": np.array([1.0, 2.0])}, "latency must hold one value per logged step"),
])
def test_bad_logged_steps_are_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        logged_outcomes(_hand_steps(**changes), P_HAT, COST_HAT, LATENCY_HAT)


# --- synthetic logs with the generator's truth as the outcome model ---------------------------------------

@pytest.fixture(scope="module")
def synthetic():
    """Executed steps of 300 seeded synthetic logs, and the true success probability and expected cost of
    every worker on each (the 'perfect' outcome model); latency predictions are the catalogue's profile."""
    catalogue = load_catalogue()
    names = catalogue.names()
    logs = list(generate_logs(300, seed=5, catalogue=catalogue))
    steps, positions = steps_from_logs(logs, names)
    tables = {}
    p_true, cost_true, latency_hat = [], [], []
    for li, si in positions:
        log = logs[li]
        if li not in tables:
            tables[li] = success_matrix(log, catalogue)
        p_true.append([tables[li][si][w] for w in names])
        cost_true.append([expected_cost(log, si, w, catalogue) for w in names])
        tokens_out = TASK_TYPES[log["subtasks"][si]["type"]].tokens_out
        latency_hat.append([catalogue.get(w).latency_ms(tokens_out) for w in names])
    p_true, cost_true = np.array(p_true), np.array(cost_true)
    outcomes = logged_outcomes(steps, p_true, cost_true, np.array(latency_hat))
    return outcomes, p_true, cost_true, names


def _tolerance(outcomes, policy, residual_variance):
    """4 standard errors of DR with a perfect model, given the logged workers: its error is the mean of
    w_i·(r_i − q_i), independent terms with mean 0 and variance w_i²·Var(r_i)."""
    rows = np.arange(len(outcomes))
    weights = policy[rows, outcomes.success.action] / outcomes.success.pscore
    return 4 * math.sqrt(float((weights ** 2 * residual_variance).sum())) / len(outcomes)


@pytest.mark.parametrize("cost_weight", [0.0, 1.0, 5.0])
def test_dr_estimates_a_policys_true_success_rate_on_synthetic_logs(synthetic, cost_weight):
    outcomes, p_true, cost_true, _ = synthetic
    rows = np.arange(len(outcomes))
    policy = model_policy(outcomes, cost_weight)
    chosen = best_workers(p_true, cost_true, outcomes.latency.q_hat, cost_weight)
    truth = float(p_true[rows, chosen].mean())
    logged_p = p_true[rows, outcomes.success.action]
    tolerance = _tolerance(outcomes, policy, logged_p * (1 - logged_p))
    estimate = evaluate_policy(outcomes, policy, n_bootstrap=50).value("success", "dr").estimate
    assert abs(estimate - truth) <= tolerance, (estimate, truth, tolerance)
    assert tolerance < 0.06, "the check is tight enough to mean something"


def test_the_curves_single_worker_points_match_their_true_values(synthetic):
    outcomes, p_true, cost_true, names = synthetic
    curve = cost_quality_curve(outcomes, weights=(0.0, 1.0, 5.0), worker_names=names, n_bootstrap=30)
    points = {p.label: p for p in curve.points}
    assert [p.kind for p in curve.points] == ["weight"] * 3 + ["worker"] * len(names) + ["uniform", "logging"]
    rows = np.arange(len(outcomes))
    logged_p = p_true[rows, outcomes.success.action]
    success_variance = logged_p * (1 - logged_p)
    cost_residual = (outcomes.cost.reward - cost_true[rows, outcomes.cost.action]) ** 2
    for j, name in enumerate(names):
        policy = np.zeros_like(p_true)
        policy[:, j] = 1.0
        point = points[f"only:{name}"]
        assert abs(point.success.estimate - p_true[:, j].mean()) <= _tolerance(outcomes, policy, success_variance)
        assert abs(point.cost.estimate - cost_true[:, j].mean()) <= _tolerance(outcomes, policy, cost_residual) + 1e-12
    assert points["logging"].success.estimate == pytest.approx(outcomes.success.reward.mean())
    assert points["w=0"].success.estimate > points["w=5"].success.estimate
    assert points["w=0"].cost.estimate > 3 * points["w=5"].cost.estimate
    assert curve.steps == len(outcomes) and curve.estimator == "dr"
    json.dumps(curve.to_dict())


def test_the_learned_policy_ranks_by_the_success_it_is_given_to_choose_by_while_dr_reads_the_predictions():
    choose = P_HAT[:, ::-1].copy()  # ranks the second worker first on every step where they differ
    plain = logged_outcomes(_hand_steps(), P_HAT, np.zeros((4, 2)), LATENCY_HAT)
    ranked = logged_outcomes(_hand_steps(), P_HAT, np.zeros((4, 2)), LATENCY_HAT, choose=choose)
    assert model_policy(plain).argmax(1).tolist() == [0, 0, 0, 0]
    assert model_policy(ranked).argmax(1).tolist() == [1, 1, 0, 1]  # step 3: a tie keeps the first
    assert np.array_equal(ranked.success.q_hat, plain.success.q_hat)
    with pytest.raises(ValueError, match=r"choose must have the shape of p_hat \(4, 2\)"):
        logged_outcomes(_hand_steps(), P_HAT, COST_HAT, LATENCY_HAT, choose=np.zeros((4, 3)))
