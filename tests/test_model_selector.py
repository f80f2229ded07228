"""The worker selector: it reads the instruction token by token, ignores padding, and the cost weight."""

import math

import pytest
import torch

from orchestai_core.model.selector import WorkerSelector, cost_adjusted, relative_costs


def _selector():
    torch.manual_seed(0)
    return WorkerSelector(dim=16, enc_dim=24, n_workers=5, heads=4, dropout=0.0).eval()


def test_one_token_anywhere_in_the_instruction_can_change_the_choice_but_padding_cannot():
    selector = _selector()
    nodes, pooled = torch.randn(1, 3, 16), torch.randn(1, 16)
    tokens = torch.randn(1, 12, 24)
    mask = torch.ones(1, 12, dtype=torch.bool)
    mask[0, 9:] = False
    base = selector(nodes, tokens, mask, pooled)
    changed_word = tokens.clone()
    changed_word[0, 4] += 3.0  # the same pooled vector is passed: only attention can see this
    padding = tokens.clone()
    padding[0, 10] += 3.0
    assert not torch.allclose(selector(nodes, changed_word, mask, pooled), base)
    assert torch.allclose(selector(nodes, padding, mask, pooled), base, atol=1e-6)
    assert base.shape == (1, 3, 5)


def test_each_sub_task_gets_its_own_distribution():
    selector = _selector()
    nodes = torch.randn(1, 2, 16)
    logits = selector(nodes, torch.randn(1, 6, 24), torch.ones(1, 6, dtype=torch.bool), torch.randn(1, 16))
    assert not torch.allclose(logits[0, 0], logits[0, 1])


def test_a_cost_weight_lowers_dear_workers_by_their_relative_cost():
    logits = torch.zeros(1, 1, 3)
    adjusted = cost_adjusted(logits, torch.tensor([0.0, 0.5, 1.0]), cost_weight=2.0)
    assert adjusted.argmax(-1).item() == 0
    assert torch.allclose(adjusted - logits.log_softmax(-1), torch.tensor([0.0, -1.0, -2.0]))


def test_relative_costs_are_a_log_scale_from_cheapest_to_dearest_per_type():
    costs = torch.tensor([[0.00002, 0.00004, 0.01], [0.0, 0.5, 0.5], [0.3, 0.3, 0.3]])
    rel = relative_costs(costs)
    assert rel[0].tolist() == pytest.approx([0.0, math.log(2) / math.log(500), 1.0])
    assert rel[1, 0] == 0.0 and rel[1, 1] == rel[1, 2] == 1.0  # a free worker is the cheapest, not -inf
    assert rel[2].tolist() == [0.0, 0.0, 0.0]  # all the same price: cost changes nothing


def test_a_cost_weight_moves_the_choice_between_two_cheap_workers():
    logits = torch.tensor([[0.0, 1.0, 0.0]])  # the selector prefers the middle worker
    rel = relative_costs(torch.tensor([[0.00002, 0.00004, 0.01]]))
    assert cost_adjusted(logits, rel, 0.0).argmax(-1).item() == 1
    assert cost_adjusted(logits, rel, 10.0).argmax(-1).item() == 0  # half the price of a cheap worker counts
