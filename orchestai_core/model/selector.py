"""Model selector: a policy network giving each sub-task a distribution over the worker catalogue,
conditioned on the sub-task and the instruction; a cost weight trades expected quality for price."""

from __future__ import annotations

import torch
from torch import nn


class WorkerSelector(nn.Module):
    def __init__(self, dim: int, n_workers: int, dropout: float):
        super().__init__()
        self.policy = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, n_workers))

    def forward(self, nodes: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """Worker logits B×N×W."""
        return self.policy(torch.cat([nodes, pooled.unsqueeze(1).expand_as(nodes)], -1))


def cost_adjusted(logits: torch.Tensor, relative_cost: torch.Tensor, cost_weight: float) -> torch.Tensor:
    """Log-probabilities lowered by `cost_weight` × the worker's cost relative to the dearest one (0..1)."""
    return logits.log_softmax(-1) - cost_weight * relative_cost
