"""The outcome head and its importance-weighted loss: what the logged worker's outcome teaches, how
choice_prob reweights it, and what a log without outcomes leaves alone."""

import math

import pytest
import torch

from orchestai_core.model.outcome import OutcomeHead, OutcomePredictions, outcome_loss, propensity_weights

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
    head = OutcomeHead(dim=8, n_workers=2, heads=2, dropout=0.0)
    nodes = torch.randn(4, 3, 8, requires_grad=True)
    tokens = torch.randn(4, 5, 8, requires_grad=True)
    mask = torch.ones(4, 5, dtype=torch.bool)
    optimizer = torch.optim.Adam(head.parameters(), lr=0.05)
    workers = torch.tensor([[0, 1, 0]] * 4)
    success = torch.tensor([[1.0, 0.0, 1.0]] * 4)  # worker 0 succeeds, worker 1 fails
    for _ in range(60):
        optimizer.zero_grad()
        loss = outcome_loss(head(nodes, tokens, mask), workers, success, torch.full((4, 3), NAN),
                            torch.full((4, 3), NAN), torch.ones(4, 3))["outcome_success"]
        loss.backward()
        optimizer.step()
    assert nodes.grad is None and tokens.grad is None
    p = head(nodes, tokens, mask).p_success()
    assert p[:, 0, 0].min() > 0.9 and p[:, 1, 1].max() < 0.1
