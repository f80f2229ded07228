"""Decoding model outputs into plans: always a DAG, raw acyclicity reported, cost weight honoured."""

import torch

from orchestai_core.dag import find_cycle
from orchestai_core.model.decode import decode
from orchestai_core.model.planner import PlannerConfig, PlannerModel
from orchestai_core.model.vocab import TYPE_SPECIALS, Vocab

TYPES = Vocab([*TYPE_SPECIALS, *[f"t{i}" for i in range(8)]])
WORKERS = Vocab(["cheap", "dear", "mid"])


class NoEncoder(torch.nn.Module):
    """Stands in for the encoder where the decoder is the point: token states are given directly."""

    hidden_size = 24
    top = torch.nn.ModuleList()

    def tuned_states(self, states, mask):
        return states


def test_decoding_random_weights_always_gives_dags_of_known_types():
    torch.manual_seed(0)
    config = PlannerConfig(hidden=32, type_embedding=16, gnn_rounds=2, gnn_heads=2, max_nodes=12, dropout=0.0)
    model = PlannerModel(config, TYPES, WORKERS, NoEncoder()).eval()
    mask = torch.ones(16, 7, dtype=torch.bool)
    mask[3:, 5:] = False
    numbers = torch.zeros(16, 7, 2)
    numbers[:, 2, 0] = torch.arange(16).float()  # some rows write a number, some a long enumeration
    numbers[::2, 3:5, 1] = 9.0
    plans = decode(model.generate(torch.randn(16, 7, 24), mask, numbers), TYPES, WORKERS)
    assert len(plans) == 16
    for plan in plans:
        assert 1 <= len(plan.graph.types) <= 12
        assert find_cycle(plan.graph.parents) is None
        assert all(p < j for j, ps in enumerate(plan.graph.parents) for p in ps)
        assert set(plan.graph.types) <= set(TYPES.items) - set(TYPE_SPECIALS)
        assert all(abs(sum(probs.values()) - 1) < 0.01 for probs in plan.worker_probs)  # top 3 of 3 workers


def _outputs(edge_logits):
    n = edge_logits.shape[-1]
    return {"types": torch.full((1, n), TYPES["t0"]), "lengths": torch.tensor([n]), "edges": edge_logits,
            "workers": torch.tensor([[[0.0, 2.0, 1.0]] * n])}


def test_a_cyclic_raw_adjacency_is_reported_and_only_forward_edges_are_kept():
    edges = torch.full((1, 3, 3), -5.0)
    edges[0, 0, 1] = edges[0, 1, 2] = edges[0, 2, 0] = 5.0  # 0 → 1 → 2 → 0
    plan = decode(_outputs(edges), TYPES, WORKERS)[0]
    assert not plan.raw_acyclic
    assert plan.graph.parents == [[], [0], [1]]
    forward_only = torch.full((1, 3, 3), -5.0)
    forward_only[0, 0, 2] = 5.0
    plan = decode(_outputs(forward_only), TYPES, WORKERS)[0]
    assert plan.raw_acyclic and plan.graph.parents == [[], [], [0]]


def test_a_cost_weight_moves_the_choice_to_cheaper_workers():
    edges = torch.full((1, 2, 2), -5.0)
    relative_cost = torch.tensor([[0.1, 1.0, 0.5]]).expand(len(TYPES), 3)
    by_quality = decode(_outputs(edges), TYPES, WORKERS, relative_cost, cost_weight=0.0)[0]
    by_price = decode(_outputs(edges), TYPES, WORKERS, relative_cost, cost_weight=10.0)[0]
    assert by_quality.graph.workers == ["dear", "dear"]
    assert by_price.graph.workers == ["cheap", "cheap"]
    assert max(by_quality.worker_probs[0], key=by_quality.worker_probs[0].get) == "dear"


def test_step_attention_with_projected_tokens_equals_the_teacher_forced_attention():
    from orchestai_core.model.decomposer import TaskDecomposer

    torch.manual_seed(0)
    decomposer = TaskDecomposer(10, 24, 16, 8, 12, 0.0)
    keys, out = torch.randn(3, 7, 24), torch.randn(3, 1, 16)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[1, 4:] = False
    with torch.no_grad():
        expected = decomposer._attend(out, keys, mask)
        assert torch.allclose(decomposer._step_attention(keys, mask)(out), expected, atol=1e-5)
        keys[1, 5] = 1e3  # a padded token must not draw the attention
        assert torch.allclose(decomposer._step_attention(keys, mask)(out)[1], expected[1], atol=1e-5)
