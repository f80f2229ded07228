"""The routing bound bench's arithmetic (benchmarks/routing_bound_bench.py): its cost–quality sweep and its
logistic router, on hand-made questions whose answers are known."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "routing_bound_bench.py"
spec = importlib.util.spec_from_file_location("routing_bound_bench", BENCH)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

# four questions: (strong right, cheap right); the strong worker costs 10, the cheap one 1
SUCCESS = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
COST = np.array([[10.0, 1.0]] * 4)


def test_the_sweep_finds_the_cheapest_point_that_keeps_the_strong_workers_quality():
    # routing by the answers: the cheap-only question first, then the two both get right, the strong-only last
    figures = bench.curve_figures(SUCCESS[:, 1] - SUCCESS[:, 0], SUCCESS, COST, budget=0.6)
    # all four to the cheap worker: 3 of 4 right, as the strong worker alone, at 4 of 40
    assert figures["cost_fraction_at_strong_quality"] == pytest.approx(0.1)
    assert figures["share_to_cheap_there"] == 1.0
    # within 60 % of the cost: the first two to the cheap worker (22 of 40) already get all four right
    assert figures["success_within_60pct_cost"] == 1.0


def test_a_router_that_sends_the_wrong_questions_keeps_the_quality_only_at_full_cost():
    success = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    cost = np.array([[10.0, 1.0]] * 3)
    figures = bench.curve_figures(np.array([1.0, 0.5, 0.0]), success, cost, budget=0.6)
    assert figures["cost_fraction_at_strong_quality"] == 1.0 and figures["share_to_cheap_there"] == 0.0
    # within 60 %: two questions to the cheap worker (12 of 30), one of three right
    assert figures["success_within_60pct_cost"] == round(1 / 3, 4)  # the bench prints 4 decimals
    # a budget below even the cheap worker's cost reaches nothing
    assert bench.curve_figures(np.array([1.0, 0.5, 0.0]), success, cost, budget=0.05)[
        "success_within_5pct_cost"] is None


def test_the_logistic_router_learns_which_questions_a_worker_gets_right():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] > 0).astype(float)  # the worker is right exactly where the first feature is positive
    success = np.column_stack([y, np.zeros(400)])  # and the other one never
    p = bench.success_probabilities(x[:300], success[:300], x[300:])
    assert p.shape == (100, 2)
    assert ((p[:, 0] > 0.5) == (y[300:] == 1)).mean() > 0.95
    assert (p[:, 1] == 0).all()  # never right in training: no column, probability 0
