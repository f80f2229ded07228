"""The workflow graph generator: edge scores for every ordered pair, aware of how far apart nodes are."""

import torch

from orchestai_core.model.graph import WorkflowGraph


def test_identical_nodes_are_told_apart_by_their_distance():
    torch.manual_seed(0)
    graph = WorkflowGraph(dim=8, rounds=0, heads=2, max_nodes=10, dropout=0.0).eval()
    with torch.no_grad():
        graph.by_distance.weight.normal_()
    nodes = torch.randn(1, 1, 8).expand(1, 5, 8).contiguous()  # five look-alike sub-tasks
    edges, _ = graph(nodes, torch.ones(1, 5, dtype=torch.bool))
    assert edges.shape == (1, 5, 5)
    assert torch.allclose(edges[0, 0, 1], edges[0, 2, 3])  # the same distance, the same score
    assert not torch.allclose(edges[0, 0, 1], edges[0, 0, 3])


def test_padding_nodes_do_not_change_the_scores_of_real_ones():
    torch.manual_seed(0)
    graph = WorkflowGraph(dim=8, rounds=2, heads=2, max_nodes=10, dropout=0.0).eval()
    nodes = torch.randn(1, 4, 8)
    valid = torch.tensor([[True, True, True, False]])
    first, _ = graph(nodes, valid)
    nodes[0, 3] = 100.0
    second, _ = graph(nodes, valid)
    assert torch.allclose(first[0, :3, :3], second[0, :3, :3], atol=1e-5)
