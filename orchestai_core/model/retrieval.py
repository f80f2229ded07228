"""The training requests nearest to an instruction: cosine similarity of mean-pooled encoder states.

The nearest-neighbour baseline and consensus decoding read the same index: one normalised vector per
training plan, kept in the checkpoint so that a planner never re-encodes its training requests.
"""

from __future__ import annotations

import torch

from orchestai_core.dag import Graph


def pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """B×E: the mean of each instruction's token states (B×T×E) over its tokens, normalised."""
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(mean.float(), dim=-1)


class PlanIndex:
    """Training plans (dicts with instruction, types, workers, parents) and their vectors (N×E, normalised)."""

    def __init__(self, vectors: torch.Tensor, plans: list[dict]):
        if vectors.ndim != 2 or vectors.shape[0] != len(plans):
            raise ValueError(f"the index needs one vector per training plan: got "
                             f"{vectors.shape[0] if vectors.ndim == 2 else tuple(vectors.shape)} vectors "
                             f"for {len(plans)} plans")
        self.vectors = vectors.float()
        self.plans = plans
        self.graphs = [Graph(list(p["types"]), list(p["workers"]), [list(q) for q in p["parents"]]) for p in plans]

    def __len__(self) -> int:
        return len(self.plans)

    def nearest(self, queries: torch.Tensor, k: int) -> tuple[list[list[int]], list[list[float]]]:
        """For each query vector (B×E, normalised): the indices of its `k` nearest plans, nearest first,
        and their cosine similarities."""
        k = min(k, len(self.plans))
        if k == 0:
            return [[] for _ in range(queries.shape[0])], [[] for _ in range(queries.shape[0])]
        top = (queries.float().to(self.vectors.device) @ self.vectors.T).topk(k, dim=1)
        return top.indices.tolist(), top.values.tolist()
