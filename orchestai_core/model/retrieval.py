"""The training requests nearest to an instruction: cosine similarity of mean-pooled encoder states.

The nearest-neighbour baseline and consensus decoding read the same index: one normalised vector per
training plan, kept in the checkpoint so that a planner never re-encodes its training requests. Every plan also
says how near its request's nearest training request is, against how near the planner's own requests are to
one another (`familiar_floor`): a request far below that is unlike anything the planner learnt from.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from orchestai_core.dag import Graph

FAMILIAR_QUANTILE = 0.01  # a request less similar to its nearest plan than 99 in 100 of the planner's own is unfamiliar
FAMILIAR_SAMPLE = 1000    # of the index's requests, each set against all the others, to find that floor
FAMILIAR_SHARE = f"{round((1 - FAMILIAR_QUANTILE) * 100)} in 100"  # of its own requests reach the floor, in words


def familiar_floor(vectors: torch.Tensor, quantile: float = FAMILIAR_QUANTILE, sample: int = FAMILIAR_SAMPLE
                   ) -> float | None:
    """How similar a request the planner learnt from usually is to its nearest other one: the `quantile` of
    that similarity (cosine, leave-one-out) over up to `sample` of the index's vectors (N×E, normalised; a
    seeded draw when there are more), each set against all N. A new request below it is unlike what the
    planner learnt from. None with fewer than two vectors."""
    n = vectors.shape[0]
    if n < 2:
        return None
    rows = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:sample] if n > sample else torch.arange(n)
    rows = rows.to(vectors.device)
    scores = vectors[rows].float() @ vectors.float().T
    scores[torch.arange(len(rows), device=vectors.device), rows] = float("-inf")  # not itself
    return float(torch.quantile(scores.max(1).values.cpu(), quantile))


def pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """B×E: the mean of each instruction's token states (B×T×E) over its tokens, normalised."""
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(mean.float(), dim=-1)


class PlanIndex:
    """Training plans (dicts with instruction, types, workers, parents, and the log's id when the checkpoint
    kept it) and their vectors (N×E, normalised)."""

    def __init__(self, vectors: torch.Tensor, plans: list[dict]):
        if vectors.ndim != 2 or vectors.shape[0] != len(plans):
            raise ValueError(f"the index needs one vector per training plan: got "
                             f"{vectors.shape[0] if vectors.ndim == 2 else tuple(vectors.shape)} vectors "
                             f"for {len(plans)} plans")
        self.vectors = vectors.float()
        self.plans = plans
        self.graphs = [Graph(list(p["types"]), list(p["workers"]), [list(q) for q in p["parents"]]) for p in plans]
        self.rows = {p["id"]: i for i, p in enumerate(plans) if p.get("id") is not None}  # a log's plan, by its id

    def __len__(self) -> int:
        return len(self.plans)

    def with_vectors(self, vectors: torch.Tensor) -> PlanIndex:
        """The same plans under other vectors (N×E', one per plan, normalised: a learnt similarity's), their
        graphs and ids shared rather than built again."""
        if vectors.ndim != 2 or vectors.shape[0] != len(self.plans):
            raise ValueError(f"the index needs one vector per training plan: got {tuple(vectors.shape)} vectors "
                             f"for {len(self.plans)} plans")
        index = copy.copy(self)
        index.vectors = vectors.float()
        return index

    def nearest(self, queries: torch.Tensor, k: int, leave_out: Sequence[str | None] | None = None
                ) -> tuple[list[list[int]], list[list[float]]]:
        """For each query vector (B×E, normalised): the indices of its `k` nearest plans, nearest first,
        and their cosine similarities. `leave_out`: per query, the id of the log it comes from, whose plan it
        must not get (evaluating on logs the index holds: no log votes for, or is copied as, itself)."""
        scores = self.similarities(queries, leave_out)
        k = min(k, len(self.plans))
        if k == 0:
            return [[] for _ in range(queries.shape[0])], [[] for _ in range(queries.shape[0])]
        top = scores.topk(k, dim=1)
        indices, sims = top.indices.tolist(), top.values.tolist()
        if leave_out is not None:  # a query whose own plan was among the k has one fewer
            kept = [[j for j, s in enumerate(row) if s != float("-inf")] for row in sims]
            indices = [[row[j] for j in keep] for row, keep in zip(indices, kept)]
            sims = [[row[j] for j in keep] for row, keep in zip(sims, kept)]
        return indices, sims

    def similarities(self, queries: torch.Tensor, leave_out: Sequence[str | None] | None = None) -> torch.Tensor:
        """B×N cosine similarities of the queries to every plan; −inf for each query's `leave_out` log."""
        scores = queries.float().to(self.vectors.device) @ self.vectors.T
        if leave_out is not None:
            if len(leave_out) != len(scores):
                raise ValueError(f"got {len(leave_out)} logs to leave out for {len(scores)} queries")
            for b, log_id in enumerate(leave_out):
                row = self.rows.get(log_id) if log_id is not None else None
                if row is not None:
                    scores[b, row] = float("-inf")
        return scores
