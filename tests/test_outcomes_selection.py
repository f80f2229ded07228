"""Worker selection by utility: the weight-0 choice is the likeliest worker, weights trade success for
cost and latency, masks are never crossed, and budgets hold whenever they can."""

import math

import numpy as np
import pytest

from orchestai_core.outcomes.selection import (
    best_workers,
    choose_workers,
    critical_path,
    pessimistic_success,
    utility,
)

CHAIN = [[], [0], [1]]


def _plans(n_cases: int, seed: int):
    """Random DAGs with random predictions and masks (each step has at least one allowed worker)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_cases):
        n, k = int(rng.integers(1, 9)), int(rng.integers(2, 6))
        parents = [sorted(set(rng.choice(i, size=int(rng.integers(0, min(i, 3) + 1)), replace=False).tolist()))
                   if i else [] for i in range(n)]
        p = rng.uniform(0.05, 1.0, (n, k))
        cost = rng.lognormal(-6, 1.5, (n, k))
        latency = rng.lognormal(7, 0.8, (n, k))
        allowed = rng.random((n, k)) < 0.7
        allowed[np.arange(n), rng.integers(0, k, n)] = True
        yield p, cost, latency, parents, allowed, rng


def _cp(latency_per_step, parents):
    return critical_path(latency_per_step, parents)[0]


def test_utility_subtracts_cost_and_latency_as_shares_of_the_steps_most_expensive_and_slowest_worker():
    p = [[0.9, 0.6], [0.5, 0.5]]
    cost = [[2.0, 1.0], [0.0, 0.0]]
    latency = [[100.0, 400.0], [10.0, 30.0]]
    u = utility(p, cost, latency, cost_weight=1.0, latency_weight=0.5)
    assert u[0] == pytest.approx([0.9 - 1.0 - 0.5 * 0.25, 0.6 - 0.5 - 0.5 * 1.0])
    assert u[1] == pytest.approx([0.5 - 0.5 / 3, 0.5 - 0.5])  # free step: the cost term is 0 for both


def test_weight_zero_takes_the_likeliest_worker_and_higher_weights_much_cheaper_ones():
    p = [[0.9, 0.85, 0.2]]
    cost = [[1.0, 0.1, 0.01]]
    latency = [[1.0, 1.0, 1.0]]
    assert [int(best_workers(p, cost, latency, w)[0]) for w in (0, 1, 5, 100)] == [0, 1, 1, 2]


def test_ties_go_to_the_cheaper_then_the_faster_worker():
    p = [[0.8, 0.8, 0.8]]
    assert best_workers(p, [[3.0, 1.0, 1.0]], [[1.0, 5.0, 2.0]])[0] == 2


def test_a_masked_worker_is_never_chosen_even_if_best_and_cheapest():
    p, cost, latency = [[0.99, 0.5]], [[0.001, 1.0]], [[1.0, 9.0]]
    allowed = np.array([[False, True]])
    assert np.isneginf(utility(p, cost, latency, allowed=allowed)[0, 0])
    selection = choose_workers(p, cost, latency, [[]], cost_weight=5, budget_usd=0.5, allowed=allowed)
    assert selection.workers == (1,) and not selection.feasible


def test_selection_reports_the_plans_success_cost_and_critical_path():
    parents = [[], [0], [0], [1, 2]]  # a diamond
    p = np.array([[0.9], [0.8], [0.7], [0.95]])
    cost = np.array([[0.1], [0.2], [0.3], [0.4]])
    latency = np.array([[100.0], [500.0], [200.0], [50.0]])
    selection = choose_workers(p, cost, latency, parents)
    assert selection.workers == (0, 0, 0, 0) and selection.feasible and selection.violations == ()
    assert selection.expected_success == pytest.approx(0.9 * 0.8 * 0.7 * 0.95)
    assert selection.total_cost == pytest.approx(1.0)
    assert selection.critical_path_ms == pytest.approx(650.0)
    assert selection.critical_path == (0, 1, 3)
    assert selection.to_dict()["critical_path"] == (0, 1, 3)


def test_a_cost_budget_switches_the_step_that_loses_least_success_per_dollar_saved():
    p = np.array([[0.9, 0.5], [0.9, 0.88], [0.9, 0.6]])
    cost = np.array([[1.0, 0.2], [1.0, 0.2], [1.0, 0.2]])
    latency = np.ones((3, 2))
    assert choose_workers(p, cost, latency, CHAIN).workers == (0, 0, 0)
    selection = choose_workers(p, cost, latency, CHAIN, budget_usd=2.5)
    assert selection.workers == (0, 1, 0) and selection.feasible
    assert selection.total_cost == pytest.approx(2.2)
    selection = choose_workers(p, cost, latency, CHAIN, budget_usd=1.5)
    assert selection.workers == (0, 1, 1) and selection.total_cost == pytest.approx(1.4)


def test_a_latency_budget_only_switches_steps_on_the_critical_path():
    parents = [[], [0], [0]]  # step 1 (slow) and step 2 (quick) run in parallel after step 0
    p = np.array([[0.9, 0.9], [0.9, 0.7], [0.9, 0.9]])
    cost = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])
    latency = np.array([[100.0, 90.0], [1000.0, 300.0], [500.0, 100.0]])
    assert choose_workers(p, cost, latency, parents).workers == (0, 0, 0)
    selection = choose_workers(p, cost, latency, parents, budget_latency_ms=700.0)
    assert selection.workers == (0, 1, 0)  # step 2 switches for free but would not shorten the plan
    assert selection.critical_path_ms == pytest.approx(600.0) and selection.feasible


def test_tied_critical_paths_are_both_shortened():
    parents = [[], []]
    p = np.array([[0.9, 0.8], [0.9, 0.8]])
    latency = np.array([[1000.0, 100.0], [1000.0, 100.0]])
    selection = choose_workers(p, np.ones((2, 2)), latency, parents, budget_latency_ms=500.0)
    assert selection.workers == (1, 1) and selection.feasible


def test_an_unreachable_cost_budget_returns_the_cheapest_plan_and_says_so():
    p = np.array([[0.9, 0.5], [0.9, 0.6]])
    cost = np.array([[1.0, 0.2], [1.0, 0.3]])
    selection = choose_workers(p, cost, np.ones((2, 2)), [[], [0]], budget_usd=0.4)
    assert not selection.feasible and selection.workers == (1, 1)
    assert len(selection.violations) == 1
    assert "exceeds the budget $0.4" in selection.violations[0] and "cheapest allowed worker" in selection.violations[0]


def test_an_unreachable_latency_budget_returns_the_fastest_plan_and_says_so():
    p = np.array([[0.9, 0.5], [0.9, 0.6]])
    latency = np.array([[300.0, 200.0], [300.0, 250.0]])
    selection = choose_workers(p, np.ones((2, 2)), latency, [[], [0]], budget_latency_ms=400.0)
    assert not selection.feasible and selection.workers == (1, 1)
    assert selection.critical_path_ms == pytest.approx(450.0)
    assert "fastest allowed worker" in selection.violations[0]


def test_budgets_that_hold_alone_but_not_together_are_reported():
    p = np.array([[0.9, 0.9]])
    cost, latency = np.array([[1.0, 10.0]]), np.array([[10.0, 1.0]])
    selection = choose_workers(p, cost, latency, [[]], budget_usd=2.0, budget_latency_ms=2.0)
    assert not selection.feasible
    assert any("each budget alone can be met" in v for v in selection.violations)


def test_returned_feasible_plans_are_within_both_budgets_on_random_dags():
    reported_infeasible = feasible = 0
    for p, cost, latency, parents, allowed, rng in _plans(250, seed=11):
        rows = np.arange(len(p))
        cheapest = np.where(allowed, cost, np.inf).min(axis=1).sum()
        fastest = _cp(np.where(allowed, latency, np.inf).min(axis=1), parents)
        budget_usd = cheapest * rng.uniform(0.8, 3.0) if rng.random() < 0.8 else None
        budget_ms = fastest * rng.uniform(0.8, 2.0) if rng.random() < 0.8 else None
        selection = choose_workers(p, cost, latency, parents, cost_weight=float(rng.uniform(0, 2)),
                                   budget_usd=budget_usd, budget_latency_ms=budget_ms, allowed=allowed)
        chosen = np.array(selection.workers)
        assert allowed[rows, chosen].all()
        total, length = cost[rows, chosen].sum(), _cp(latency[rows, chosen], parents)
        assert selection.total_cost == pytest.approx(total) and selection.critical_path_ms == pytest.approx(length)
        within = (budget_usd is None or total <= budget_usd) and (budget_ms is None or length <= budget_ms)
        assert selection.feasible == within
        assert bool(selection.violations) == (not within)
        reachable_usd = budget_usd is None or cheapest <= budget_usd
        reachable_ms = budget_ms is None or fastest <= budget_ms
        if (budget_usd is None or budget_ms is None) and reachable_usd and reachable_ms:
            assert selection.feasible, "one reachable budget is always met"
        if not (reachable_usd and reachable_ms):
            assert not selection.feasible
        feasible += selection.feasible
        reported_infeasible += not selection.feasible
    assert feasible >= 100 and reported_infeasible >= 20


def test_a_repaired_plan_gives_back_every_switch_the_budgets_do_not_need():
    for p, cost, latency, parents, allowed, rng in _plans(120, seed=5):
        rows = np.arange(len(p))
        budget_usd = np.where(allowed, cost, np.inf).min(axis=1).sum() * rng.uniform(1.0, 2.0)
        selection = choose_workers(p, cost, latency, parents, budget_usd=budget_usd, allowed=allowed)
        u = utility(p, cost, latency, allowed=allowed)
        chosen = np.array(selection.workers)
        for i in range(len(p)):
            for j in np.flatnonzero(u[i] > u[i, chosen[i]]):
                trial = chosen.copy()
                trial[i] = j
                assert cost[rows, trial].sum() > budget_usd


def test_a_higher_cost_weight_never_raises_the_plans_total_cost():
    weights = [0.0, 0.1, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 100.0]
    changed = 0
    for p, cost, latency, parents, allowed, rng in _plans(150, seed=3):
        latency_weight = float(rng.uniform(0, 1))
        totals = [choose_workers(p, cost, latency, parents, cost_weight=w, latency_weight=latency_weight,
                                 allowed=allowed).total_cost for w in weights]
        assert all(later <= earlier + 1e-15 for earlier, later in zip(totals, totals[1:])), totals
        changed += totals[-1] < totals[0]
    assert changed >= 50


@pytest.mark.parametrize("kwargs, message", [
    ({"parents": [[], [2], []]}, "may depend only on earlier steps"),
    ({"parents": [[], [0]]}, "parents of each of the 3 steps"),
    ({"cost_weight": -1.0}, "cost_weight must be a finite number"),
    ({"budget_usd": float("nan")}, "budget_usd must be a finite number"),
    ({"allowed": np.array([[True, False], [False, False], [True, True]])}, "step 1 has no allowed worker"),
    ({"allowed": np.ones((3, 2))}, "allowed must be a boolean matrix"),
])
def test_bad_input_is_refused_with_a_clear_message(kwargs, message):
    args = {"p": np.full((3, 2), 0.5), "cost": np.ones((3, 2)), "latency": np.ones((3, 2)), "parents": CHAIN}
    with pytest.raises(ValueError, match=message):
        choose_workers(**{**args, **kwargs})


def test_predictions_of_the_wrong_shape_or_range_are_refused():
    with pytest.raises(ValueError, match="cost must have the shape of p"):
        utility(np.full((2, 3), 0.5), np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="probabilities in"):
        utility([[1.5]], [[1.0]], [[1.0]])
    with pytest.raises(ValueError, match="not a finite number"):
        utility([[0.5]], [[math.inf]], [[1.0]])


def test_pessimism_lowers_a_rarely_run_worker_more_than_a_well_run_one():
    p = np.array([[0.80, 0.85]])
    lowered = pessimistic_success(p, np.array([[1000.0, 3.0]]), strength=1.0)
    assert lowered[0, 0] == pytest.approx(0.80 - np.sqrt(0.8 * 0.2 / 1001))
    assert lowered[0, 1] == pytest.approx(0.85 - np.sqrt(0.85 * 0.15 / 4))
    assert lowered[0, 0] > lowered[0, 1]  # the well-run worker now ranks first
    assert choose_workers(lowered, np.ones((1, 2)), np.ones((1, 2)), [[]]).workers == (0,)
    assert choose_workers(p, np.ones((1, 2)), np.ones((1, 2)), [[]]).workers == (1,)


def test_no_pessimism_keeps_the_predictions_and_certain_ones_stay_put():
    p = np.array([[0.3, 1.0, 0.0]])
    assert np.array_equal(pessimistic_success(p, np.zeros((1, 3)), strength=0.0), p)
    lowered = pessimistic_success(p, np.zeros((1, 3)), strength=5.0)
    assert lowered[0, 0] == 0.0 and lowered[0, 1] == 1.0 and lowered[0, 2] == 0.0  # clipped; p(1-p) = 0


@pytest.mark.parametrize("observed, strength, message", [
    (np.zeros((2, 2)), 1.0, "observed must have the shape of p"),
    (-np.ones((1, 2)), 1.0, "observed must hold run counts ≥ 0"),
    (np.zeros((1, 2)), -1.0, "strength must be a finite number ≥ 0"),
])
def test_pessimism_refuses_bad_counts_and_strengths(observed, strength, message):
    with pytest.raises(ValueError, match=message):
        pessimistic_success(np.array([[0.5, 0.5]]), observed, strength)
