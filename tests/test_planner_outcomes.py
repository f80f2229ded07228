"""The planner's outcome predictions on gold workflows (`Planner.predict_outcomes`), the API that off-policy
evaluation and calibration build on."""

import math

import numpy as np
import pytest
import torch

from orchestai_core.planner_api import Planner, StepOutcomes
from orchestai_core.synth import generate_logs
from orchestai_core.training_data import example_from_log


@pytest.fixture(scope="module")
def planner(tiny_checkpoint):
    return Planner.load(tiny_checkpoint, "cpu")


@pytest.fixture(scope="module")
def examples():
    return [example_from_log(log) for log in generate_logs(6, seed=5)]


def test_predictions_cover_every_step_and_worker_of_each_gold_workflow_in_its_node_order(planner, examples):
    outcomes = planner.predict_outcomes(examples, batch_size=4)  # two batches
    assert len(outcomes) == len(examples) and all(isinstance(o, StepOutcomes) for o in outcomes)
    k = len(planner.worker_names)
    assert planner.worker_names == planner.workers.items and len(set(planner.worker_names)) == k
    for e, o in zip(examples, outcomes):
        for values in (o.p_success, o.cost_usd, o.latency_ms):
            assert values.shape == (len(e.types), k) and np.isfinite(values).all()
        assert ((o.p_success >= 0) & (o.p_success <= 1)).all()
        assert (o.cost_usd > 0).all() and (o.latency_ms > 0).all()
        assert o.allowed.shape == (len(e.types), k) and o.allowed.dtype == bool


def test_predictions_do_not_depend_on_the_batch_they_are_in(planner, examples):
    together = planner.predict_outcomes(examples)
    alone = [planner.predict_outcomes([e])[0] for e in examples[:2]]
    for a, b in zip(together, alone):
        np.testing.assert_allclose(a.p_success, b.p_success, atol=1e-5)
        np.testing.assert_allclose(a.cost_usd, b.cost_usd, rtol=1e-4)


def test_predictions_follow_the_gold_workflow_not_a_decoded_one(planner, examples):
    e = examples[0]
    reordered = example_from_log(next(iter(generate_logs(6, seed=5))))
    reordered.types = list(reversed(e.types))  # another workflow for the same instruction
    reordered.parents = [[] for _ in e.types]
    a, b = planner.predict_outcomes([e, reordered])
    assert not np.allclose(a.p_success, b.p_success)


def test_allowed_workers_are_those_training_logs_ran_on_the_type_and_always_the_logged_one(planner, examples):
    seen = {}
    for plan in planner.train_plans:
        for t, w in zip(plan["types"], plan["workers"]):
            seen.setdefault(t, set()).add(w)
    e = examples[0]
    e.workers[0] = next(w for w in planner.worker_names if w not in seen.get(e.types[0], set()))
    e.types.append("a-type-never-seen")
    e.workers.append(None)
    e.parents.append([])
    o = planner.predict_outcomes([e])[0]
    names = np.array(planner.worker_names)
    assert set(names[o.allowed[0]]) == seen[e.types[0]] | {e.workers[0]}
    for i in range(1, len(e.types) - 1):
        expected = seen.get(e.types[i], set(planner.worker_names)) | {e.workers[i]} - {None}
        assert set(names[o.allowed[i]]) == expected
    assert o.allowed[-1].all()  # a type no training log assigned a worker to: any worker


def test_steps_beyond_the_models_max_nodes_are_nan(planner, examples):
    long = max(examples, key=lambda e: len(e.types))
    planner.config.max_nodes, saved = 2, planner.config.max_nodes
    try:
        o = planner.predict_outcomes([long])[0]
    finally:
        planner.config.max_nodes = saved
    assert np.isfinite(o.p_success[:2]).all() and all(math.isnan(v) for v in o.p_success[2:].ravel())
    assert np.isfinite(o.p_choose[:2]).all() and np.isnan(o.p_choose[2:]).all()


def _training_runs(planner) -> dict[tuple[str, str], int]:
    """(type, worker) → the training split's steps that ran with an outcome (the tiny checkpoint trained on
    generate_logs(48, seed=11), planner_fixtures.train_tiny_checkpoint)."""
    held_out, runs = set(planner.val_ids), {}
    for e in (example_from_log(log) for log in generate_logs(48, seed=11)):
        if e.id not in held_out:
            for t, w, status in zip(e.types, e.workers, e.statuses):
                if status in ("success", "failed"):
                    runs[t, w] = runs.get((t, w), 0) + 1
    return runs


def test_the_success_selection_ranks_by_is_the_prediction_less_its_uncertainty_from_logged_runs(planner, examples):
    from orchestai_core.outcomes.selection import pessimistic_success

    ran = _training_runs(planner)
    assigned = sum(len(plan["types"]) for plan in planner.train_plans)
    assert sum(ran.values()) < assigned  # some assigned steps never ran (skipped after a failure): not counted
    for e, o in zip(examples[:3], planner.predict_outcomes(examples[:3])):
        runs = np.array([[ran.get((t, w), 0) for w in planner.worker_names] for t in e.types], dtype=float)
        assert np.array_equal(planner.observed_runs(e.types), runs)
        assert np.allclose(o.p_choose, pessimistic_success(o.p_success, runs, planner.pessimism))
        assert (o.p_choose <= o.p_success + 1e-12).all()


def test_the_success_prior_holds_the_runs_and_rates_of_the_training_logs_alone(planner):
    held_out, runs, wins = set(planner.val_ids), _training_runs(planner), {}
    for e in (example_from_log(log) for log in generate_logs(48, seed=11)):
        if e.id not in held_out:
            for t, w, status in zip(e.types, e.workers, e.statuses):
                wins[t, w] = wins.get((t, w), 0) + (status == "success")
    head = planner.model.outcome
    table = {(t, w): head.prior_runs[planner.types[t], planner.workers[w]].item() for t, w in runs}
    assert table == {pair: float(n) for pair, n in runs.items()}
    assert head.prior_runs.sum().item() == sum(runs.values()) == planner.outcome_steps
    most = max(runs, key=runs.get)
    p = torch.sigmoid(head.prior[planner.types[most[0]], planner.workers[most[1]]]).item()
    assert p == pytest.approx(wins[most] / runs[most], abs=0.1)  # importance weights and the ridge move it a little


def test_logs_that_record_no_latency_still_give_the_outcome_model_its_success_prior(tmp_path, tiny_encoder):
    # RouteLLM's logs record success and cost but no latency: the prior must not wait for a latency average
    from dataclasses import replace

    from planner_fixtures import tiny_model_config, tiny_train_config

    from orchestai_core.train import Phase1Trainer

    examples = [replace(e, latencies=[None] * len(e.types))
                for e in (example_from_log(log) for log in generate_logs(24, seed=3))]
    trainer = Phase1Trainer(tiny_train_config(num_epochs=1), tiny_model_config(tiny_encoder), tmp_path, "cpu",
                            progress=False)
    trainer.setup(examples)
    head = trainer.model.outcome
    assert head.prior_runs.sum().item() == trainer.outcome_steps > 0
    assert (head.prior != 0).any()
