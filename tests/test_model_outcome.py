"""The outcome head and its importance-weighted loss: what the logged worker's outcome teaches, how
choice_prob reweights it, and what a log without outcomes leaves alone."""

import math

import pytest
import torch

from orchestai_core.model.outcome import (
    OutcomeHead,
    OutcomePredictions,
    outcome_loss,
    propensity_weights,
    success_prior,
    worker_log_means,
)

NAN = float("nan")


def _predictions(success, cost=None, latency=None):
    success = torch.tensor(success, dtype=torch.float)
    zeros = torch.zeros_like(success)
    return OutcomePredictions(success, zeros if cost is None else torch.tensor(cost),
                              zeros if latency is None else torch.tensor(latency))


def test_propensity_weights_invert_choice_prob_capped_and_fall_back_to_one_where_unknown():
    weights = propensity_weights(torch.tensor([0.5, 0.01, NAN, 1.0]), clip=20.0)
    assert weights.tolist() == pytest.approx([2.0, 20.0, 1.0, 1.0])


def test_only_the_logged_worker_of_a_step_that_ran_is_learnt():
    # one log, three steps, two workers: step 0 ran worker 1 and failed, step 1 ran worker 0 and succeeded,
    # step 2 was skipped (no outcome)
    predictions = _predictions([[[5.0, 0.0], [0.0, -9.0], [3.0, 3.0]]])
    out = outcome_loss(predictions, torch.tensor([[1, 0, 0]]), torch.tensor([[0.0, 1.0, NAN]]),
                       torch.tensor([[NAN, NAN, NAN]]), torch.tensor([[NAN, NAN, NAN]]), torch.ones(1, 3))
    expected = math.log(2)  # both logged logits are 0: a binary cross-entropy of log 2 each
    assert out["outcome_success"].item() == pytest.approx(expected)
    assert out["outcome_cost"].item() == 0.0 and out["outcome_latency"].item() == 0.0


def test_weights_make_a_rarely_chosen_workers_outcome_count_more():
    predictions = _predictions([[[0.0], [0.0]]])
    targets = torch.tensor([[1.0, 0.0]])
    even = outcome_loss(predictions, torch.tensor([[0, 0]]), targets, torch.full((1, 2), NAN),
                        torch.full((1, 2), NAN), torch.tensor([[1.0, 1.0]]))
    predictions = _predictions([[[2.0], [2.0]]])  # leaning to success: the success term is the smaller one
    leaned_even = outcome_loss(predictions, torch.tensor([[0, 0]]), targets, torch.full((1, 2), NAN),
                               torch.full((1, 2), NAN), torch.tensor([[1.0, 1.0]]))
    leaned_weighted = outcome_loss(predictions, torch.tensor([[0, 0]]), targets, torch.full((1, 2), NAN),
                                   torch.full((1, 2), NAN), torch.tensor([[1.0, 9.0]]))
    assert even["outcome_success"].item() == pytest.approx(math.log(2))
    assert leaned_weighted["outcome_success"].item() > leaned_even["outcome_success"].item()


def test_cost_and_latency_are_learnt_on_a_log_scale():
    predictions = _predictions([[[0.0, 0.0]]], cost=[[[math.log(0.002), 0.0]]], latency=[[[math.log(800.0), 0.0]]])
    out = outcome_loss(predictions, torch.tensor([[0]]), torch.tensor([[1.0]]), torch.tensor([[0.002]]),
                       torch.tensor([[800.0]]), torch.ones(1, 1))
    assert out["outcome_cost"].item() == pytest.approx(0.0, abs=1e-9)
    assert out["outcome_latency"].item() == pytest.approx(0.0, abs=1e-9)


def test_the_head_does_not_train_the_states_it_reads_and_learns_a_workers_success():
    torch.manual_seed(0)
    head = OutcomeHead(dim=8, n_types=3, n_workers=2, heads=2, dropout=0.0)
    nodes = torch.randn(4, 3, 8, requires_grad=True)
    tokens = torch.randn(4, 5, 8, requires_grad=True)
    mask = torch.ones(4, 5, dtype=torch.bool)
    types = torch.tensor([[2, 1, 2]] * 4)
    optimizer = torch.optim.Adam(head.parameters(), lr=0.05)
    workers = torch.tensor([[0, 1, 0]] * 4)
    success = torch.tensor([[1.0, 0.0, 1.0]] * 4)  # worker 0 succeeds, worker 1 fails
    for _ in range(60):
        optimizer.zero_grad()
        loss = outcome_loss(head(nodes, tokens, mask, types), workers, success, torch.full((4, 3), NAN),
                            torch.full((4, 3), NAN), torch.ones(4, 3))["outcome_success"]
        loss.backward()
        optimizer.step()
    assert nodes.grad is None and tokens.grad is None
    p = head(nodes, tokens, mask, types).p_success()
    assert p[:, 0, 0].min() > 0.9 and p[:, 1, 1].max() < 0.1


def _step_columns(rows):
    """(type, worker, success, choice_prob) rows as the four 1-D tensors success_prior reads."""
    types, workers, success, probs = zip(*rows)
    return (torch.tensor(types), torch.tensor(workers), torch.tensor(success, dtype=torch.float64),
            torch.tensor(probs, dtype=torch.float64))


def test_the_success_prior_follows_a_well_run_pair_and_keeps_a_rarely_run_one_near_its_worker():
    # worker 0 on type 1: 200 runs, 25 % success; worker 0 on type 2: two runs, both failed;
    # worker 1 on type 1: 100 runs, 90 % success; worker 1 never ran type 2
    rows = ([(1, 0, float(i % 4 == 0), 1.0) for i in range(200)] + [(2, 0, 0.0, 1.0)] * 2
            + [(1, 1, float(i % 10 != 0), 1.0) for i in range(100)])
    logits, runs = success_prior(*_step_columns(rows), n_types=3, n_workers=2)
    p = torch.sigmoid(logits)
    assert p[1, 0].item() == pytest.approx(0.25, abs=0.02)
    assert p[1, 1].item() == pytest.approx(0.90, abs=0.02)
    worker_0 = 50 / 202  # the worker's own rate over both types
    assert abs(p[2, 0].item() - worker_0) < 0.1 < abs(0.0 - worker_0)  # two failures move it only a little
    assert p[2, 0].item() < worker_0
    assert p[2, 1].item() == pytest.approx(p[0, 1].item())  # never run: the worker's own logit
    assert runs[1, 0].item() == 200 and runs[2, 0].item() == 2 and runs[2, 1].item() == 0


def test_the_success_prior_weights_each_run_by_its_inverse_choice_prob():
    # successes were chosen with probability 1/4 (weight 4), failures always: 40 of 50 weighted runs succeed
    rows = [(1, 0, 1.0, 0.25)] * 10 + [(1, 0, 0.0, 1.0)] * 10
    logits, _ = success_prior(*_step_columns(rows), n_types=2, n_workers=1)
    assert torch.sigmoid(logits[1, 0]).item() == pytest.approx(0.8, abs=0.01)
    unweighted, _ = success_prior(*_step_columns([(t, w, y, NAN) for t, w, y, _ in rows]), n_types=2, n_workers=1)
    assert torch.sigmoid(unweighted[1, 0]).item() == pytest.approx(0.5, abs=0.01)  # unknown: every run weighs 1


def test_the_success_prior_needs_an_outcome():
    assert success_prior(*_step_columns([(1, 0, NAN, 1.0), (1, -100, 1.0, 1.0)]), n_types=2, n_workers=1) is None


def test_at_prediction_time_the_residual_counts_by_the_runs_behind_the_pair():
    torch.manual_seed(0)
    head = OutcomeHead(dim=8, n_types=2, n_workers=2, heads=2, dropout=0.0, residual_runs=100.0)
    prior = torch.tensor([[0.0, 0.0], [1.0, -1.0]])
    head.set_prior(prior, torch.tensor([[0.0, 0.0], [0.0, 300.0]]))
    nodes, tokens, mask = torch.randn(1, 1, 8), torch.randn(1, 4, 8), torch.ones(1, 4, dtype=torch.bool)
    types = torch.tensor([[1]])
    trained = head(nodes, tokens, mask, types).success[0, 0]
    residual = trained - prior[1]
    assert residual.abs().min() > 0  # the untrained head adds something in training mode
    head.eval()
    shrunk = head(nodes, tokens, mask, types).success[0, 0]
    assert shrunk[0].item() == pytest.approx(1.0)  # no run behind worker 0 on type 1: the prior alone
    assert shrunk[1].item() == pytest.approx(-1.0 + 0.75 * residual[1].item(), abs=1e-5)  # 300 / (300 + 100)


def test_worker_log_means_average_each_workers_log_outcome_and_need_one():
    means = worker_log_means(torch.tensor([0.01, 0.0001, NAN, 0.001]), torch.tensor([0, 0, 1, -100]), 3, 1e-7)
    assert means[0].item() == pytest.approx(math.log(0.001))  # mean of log 0.01 and log 0.0001
    assert means[1].item() == means[2].item() == pytest.approx(math.log(0.001))  # unseen: the mean of all
    assert worker_log_means(torch.tensor([NAN, NAN]), torch.tensor([0, 1]), 2, 1e-7) is None
