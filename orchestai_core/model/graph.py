"""Workflow graph generator: rounds of attention message passing over the sub-task embeddings, then a
biaffine score for every ordered pair (i, j) as the edge "j depends on i", plus a term that depends on
the distance j − i (repeated branches hold look-alike nodes, told apart mostly by how far apart they are).

The distance term is a bilinear form per distance, kept low-rank (a mix of `DISTANCE_RANK` diagonal
forms): a full one per distance costs a B×N×N×H product, the largest tensor of a training step."""

from __future__ import annotations

import torch
from torch import nn

DISTANCE_RANK = 8


class MessagePassing(nn.Module):
    """One round: every node gathers messages from all others (attention-weighted) and updates."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        msg, _ = self.attn(x, x, x, key_padding_mask=pad, need_weights=False)
        x = self.norm1(x + msg)
        return self.norm2(x + self.mlp(x))


class WorkflowGraph(nn.Module):
    def __init__(self, dim: int, rounds: int, heads: int, max_nodes: int, dropout: float):
        super().__init__()
        self.rounds = nn.ModuleList(MessagePassing(dim, heads, dropout) for _ in range(rounds))
        self.parent = nn.Linear(dim, dim)
        self.child = nn.Linear(dim, dim)
        self.bilinear = nn.Parameter(torch.zeros(dim, dim))
        self.distance = nn.Embedding(2 * max_nodes + 1, 1)  # bias by j - i: chains favour near parents
        self.by_distance = nn.Embedding(2 * max_nodes + 1, DISTANCE_RANK)  # per j - i: a mix of the forms
        nn.init.zeros_(self.by_distance.weight)
        self.forms = nn.Parameter(torch.randn(DISTANCE_RANK, dim) / dim ** 0.5)  # diagonal bilinear forms
        self.max_nodes = max_nodes

    def forward(self, nodes: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Edge logits B×N×N (entry [i, j]: j depends on i) and the updated node states."""
        x = nodes
        pad = ~valid
        for layer in self.rounds:
            x = layer(x, pad)
            x = x.masked_fill(pad.unsqueeze(-1), 0.0)
        p, c = torch.tanh(self.parent(x)), torch.tanh(self.child(x))
        scores = torch.einsum("bid,de,bje->bij", p, self.bilinear, c) + torch.einsum("bid,bjd->bij", p, c)
        n = nodes.shape[1]
        idx = torch.arange(n, device=nodes.device)
        rel = (idx.view(1, -1) - idx.view(-1, 1)).clamp(-self.max_nodes, self.max_nodes) + self.max_nodes
        per_form = torch.matmul(p.unsqueeze(1) * self.forms.view(1, -1, 1, p.shape[-1]),
                                c.unsqueeze(1).transpose(-1, -2))
        scores = scores + (per_form * self.by_distance(rel).permute(2, 0, 1).unsqueeze(0)).sum(1)
        return scores + self.distance(rel).squeeze(-1), x
