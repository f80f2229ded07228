"""Cost and latency estimates per (type, worker): the logs' medians, else the catalogue's prices and speeds
relative to its mean worker, else the type's or every step's median."""

import statistics

import pytest

from orchestai_core.catalogue import load_catalogue
from orchestai_core.plan_stats import PlanStats
from orchestai_core.synth import generate_logs
from orchestai_core.training_data import example_from_log


@pytest.fixture(scope="module")
def stats():
    return PlanStats.from_examples([example_from_log(log) for log in generate_logs(40, seed=3)], load_catalogue())


def test_a_pair_the_logs_ran_gets_their_medians(stats):
    key, (cost, latency) = next(iter(stats.pair.items()))
    assert stats.estimate(*key.split("|")) == (cost, latency)


def test_an_unseen_pair_scales_its_types_median_by_the_workers_price_and_speed(stats):
    workers = stats.catalogue["workers"]
    task_type = next(iter(stats.by_type))
    unseen = next(w for w in workers if f"{task_type}|{w['name']}" not in stats.pair)
    price = statistics.mean(w["price_in_per_1k"] + w["price_out_per_1k"] for w in workers)
    speed = statistics.mean(w["latency_base_ms"] for w in workers)
    base_cost, base_latency = stats.by_type[task_type]
    assert stats.estimate(task_type, unseen["name"]) == (
        base_cost * (unseen["price_in_per_1k"] + unseen["price_out_per_1k"]) / price,
        base_latency * unseen["latency_base_ms"] / speed)
    again = PlanStats.from_dict(stats.to_dict())  # a planner's copy, read back from its checkpoint
    assert again.estimate(task_type, unseen["name"]) == stats.estimate(task_type, unseen["name"])


def test_an_unknown_type_or_worker_falls_back_to_the_medians(stats):
    assert stats.estimate("no-such-type", "no-such-worker") == stats.overall
    task_type = next(iter(stats.by_type))
    assert stats.estimate(task_type, "no-such-worker") == stats.by_type[task_type]
