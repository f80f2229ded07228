"""From the model's raw outputs to plans that are always DAGs.

Edges are kept only from an earlier to a later sub-task in the emitted order (the order the model was
trained on), so the result cannot have a cycle; whether the raw adjacency (both directions, p > 0.5)
was already acyclic is reported alongside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from orchestai_core.dag import Graph, has_cycle
from orchestai_core.model.selector import cost_adjusted
from orchestai_core.model.vocab import Vocab


class Nearest(NamedTuple):
    """A plan's nearest training request: its cosine similarity, its instruction and its row in the planner's
    index (what the nearest-neighbour baseline copies)."""

    similarity: float
    instruction: str
    row: int


@dataclass
class DecodedPlan:
    graph: Graph
    worker_probs: list[dict[str, float]]
    raw_acyclic: bool
    follows: str | None = None  # consensus decoding: the training request whose plan this is
    nearest: Nearest | None = None  # the nearest training request (its own log left out in evaluation)


def on_cpu(outputs: dict[str, torch.Tensor | None]) -> dict[str, torch.Tensor | None]:
    """The model's outputs moved to the CPU, where `decode` reads them (None stays None: an output the model was
    asked to leave out)."""
    return {k: None if v is None else v.cpu() for k, v in outputs.items()}


def decode(outputs: dict[str, torch.Tensor], types: Vocab, workers: Vocab, relative_cost: torch.Tensor | None = None,
           cost_weight: float = 0.0, top_k: int = 3) -> list[DecodedPlan]:
    """One DecodedPlan per batch row. `relative_cost` (types × workers, 0..1) feeds the cost weight. Without
    worker logits (`outputs["workers"]` None: a planner that learnt no worker choice) steps get no worker."""
    lengths = outputs["lengths"].tolist()
    type_ids = outputs["types"].tolist()
    edges = outputs["edges"] > 0  # sigmoid(logit) > 0.5
    chosen = top_values = top_indices = None
    if outputs.get("workers") is not None:
        logits = outputs["workers"].float()
        if relative_cost is not None and cost_weight:
            scores = cost_adjusted(logits, relative_cost[outputs["types"]], cost_weight)
        else:
            scores = logits.log_softmax(-1)
        distribution = scores.softmax(-1)
        chosen = distribution.argmax(-1).tolist()
        top = distribution.topk(min(top_k, distribution.shape[-1]), dim=-1)
        top_values, top_indices = top.values.tolist(), top.indices.tolist()
    plans = []
    for b, n in enumerate(lengths):
        raw = [(i, j) for i, j in edges[b, :n, :n].nonzero().tolist() if i != j]  # row by row: parents in order
        parents: list[list[int]] = [[] for _ in range(n)]
        for i, j in raw:
            if i < j:
                parents[j].append(i)
        if chosen is None:
            names, probs = [None] * n, [{} for _ in range(n)]
        else:
            names = [workers.items[w] for w in chosen[b][:n]]
            probs = [{workers.items[w]: round(p, 4) for p, w in zip(top_values[b][i], top_indices[b][i])}
                     for i in range(n)]
        graph = Graph([types.items[t] for t in type_ids[b][:n]], names, parents)
        plans.append(DecodedPlan(graph, probs, not has_cycle(n, raw)))
    return plans
