"""Planner model components: the acyclicity penalty, DAG decoding, loss shapes."""

import pytest
import torch

from orchestai_core.dag import find_cycle
from orchestai_core.model.decode import decode
from orchestai_core.model.loss import acyclicity, planner_loss
from orchestai_core.model.planner import PlannerConfig, PlannerModel
from orchestai_core.model.vocab import Vocab
from orchestai_core.model.decomposer import SPECIALS


def test_acyclicity_is_zero_on_a_dag_and_positive_on_a_cycle():
    dag = torch.tensor([[[0, 1, 1], [0, 0, 1], [0, 0, 0]]], dtype=torch.float)
    cycle = torch.tensor([[[0, 1, 0], [0, 0, 1], [1, 0, 0]]], dtype=torch.float)
    valid = torch.ones(1, 3, dtype=torch.bool)
    assert acyclicity(dag, valid).item() == pytest.approx(0.0, abs=1e-5)
    assert acyclicity(cycle, valid).item() > 1e-3  # scaled by 1/n: a 3-cycle gives about 0.019


def test_acyclicity_ignores_padding():
    a = torch.zeros(1, 4, 4)
    a[0, 0, 1] = a[0, 1, 0] = 1.0  # a 2-cycle, but node 1 is padding
    valid = torch.tensor([[True, False, True, True]])
    assert acyclicity(a, valid).item() == pytest.approx(0.0, abs=1e-5)


def tiny_model(n_types=8, n_workers=4):
    types = Vocab([*SPECIALS, *[f"t{i}" for i in range(n_types)]])
    workers = Vocab([f"w{i}" for i in range(n_workers)])
    torch.manual_seed(0)
    config = PlannerConfig(hidden=32, type_embedding=16, gnn_rounds=2, gnn_heads=2, max_nodes=12, dropout=0.0)
    return PlannerModel(config, types, workers, enc_dim=24), types, workers


def test_decoding_random_weights_always_gives_dags():
    model, types, workers = tiny_model()
    model.eval()
    tokens, mask = torch.randn(16, 7, 24), torch.ones(16, 7, dtype=torch.bool)
    out = model.generate(tokens, mask)
    plans = decode(out, types, workers, cost_weight=0.0)
    assert len(plans) == 16
    for plan in plans:
        assert 1 <= len(plan.graph.types) <= 12
        assert find_cycle(plan.graph.parents) is None
        assert all(set(p) <= set(plan.graph.workers) | set(workers.items) for p in plan.worker_probs)
        assert all(t not in SPECIALS for t in plan.graph.types)


def test_loss_components_are_finite_and_a_few_steps_lower_it():
    model, types, workers = tiny_model()
    b, n = 4, 5
    tokens, mask = torch.randn(b, 6, 24), torch.ones(b, 6, dtype=torch.bool)
    gold = torch.randint(3, len(types), (b, n))
    prev = torch.cat([torch.full((b, 1), types["<bos>"]), gold], 1)
    emitted = torch.cat([gold, torch.full((b, 1), types["<eos>"])], 1)
    edges = torch.zeros(b, n, n)
    for j in range(1, n):
        edges[:, j - 1, j] = 1
    worker_targets = torch.randint(0, len(workers), (b, n))
    valid = torch.ones(b, n, dtype=torch.bool)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        out = planner_loss(*_interleave(model(tokens, mask, prev, emitted, valid), emitted, worker_targets, edges),
                           valid, 0.3)
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        losses.append(out["loss"].item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.5 * losses[0]


def _interleave(outputs, type_targets, worker_targets, edge_targets):
    type_logits, worker_logits, edge_logits = outputs
    return type_logits, type_targets, worker_logits, worker_targets, edge_logits, edge_targets
