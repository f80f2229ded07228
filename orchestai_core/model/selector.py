"""Model selector: a policy network giving each sub-task a distribution over the worker catalogue,
conditioned on the sub-task and the instruction; a cost weight trades expected quality for price.

Each sub-task attends over the instruction's tokens, so wording anywhere in the request (a budget,
a deadline, a quality bar) can reach the choice without being averaged away.
"""

from __future__ import annotations

import torch
from torch import nn


class WorkerSelector(nn.Module):
    def __init__(self, dim: int, enc_dim: int, n_workers: int, heads: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, kdim=enc_dim, vdim=enc_dim, batch_first=True)
        self.policy = nn.Sequential(nn.Linear(3 * dim, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, n_workers))

    def forward(self, nodes: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor,
                pooled: torch.Tensor) -> torch.Tensor:
        """Worker logits B×N×W from node states B×N×H and the instruction's token states B×T×E."""
        context, _ = self.attn(nodes, tokens, tokens, key_padding_mask=~mask, need_weights=False)
        return self.policy(torch.cat([nodes, context, pooled.unsqueeze(1).expand_as(nodes)], -1))


MIN_COST_USD = 1e-9  # a free worker counts as this cheap, so the logarithm stays finite


def relative_costs(costs: torch.Tensor) -> torch.Tensor:
    """Per row (a sub-task type), each worker's cost on a log scale from the cheapest (0) to the dearest (1).

    Prices span orders of magnitude (a translation model at $0.00002 per 1k tokens, a strong LLM at
    $0.01): on a linear scale every cheap worker would sit near 0 and a cost weight could not choose
    between them. On a log scale halving the price counts the same wherever it happens."""
    logs = costs.clamp(min=MIN_COST_USD).log()
    low, high = logs.min(dim=-1, keepdim=True).values, logs.max(dim=-1, keepdim=True).values
    return (logs - low) / (high - low).clamp(min=1e-12)


def cost_adjusted(logits: torch.Tensor, relative_cost: torch.Tensor, cost_weight: float) -> torch.Tensor:
    """Log-probabilities lowered by `cost_weight` × the worker's relative cost (0 cheapest .. 1 dearest)."""
    return logits.log_softmax(-1) - cost_weight * relative_cost
