"""From the model's raw outputs to plans that are always DAGs.

Edges are kept only from an earlier to a later sub-task in the emitted order, so the result cannot
have a cycle; whether the raw adjacency (both directions, p > 0.5) was already acyclic is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from orchestai_core.dag import has_cycle
from orchestai_core.evaluate import Graph
from orchestai_core.model.selector import cost_adjusted
from orchestai_core.model.vocab import Vocab


@dataclass
class DecodedPlan:
    graph: Graph
    worker_probs: list[dict[str, float]]
    raw_acyclic: bool


def decode(outputs: dict[str, torch.Tensor], types: Vocab, workers: Vocab, relative_cost: torch.Tensor | None = None,
           cost_weight: float = 0.0, top_k: int = 3) -> list[DecodedPlan]:
    """One DecodedPlan per batch row. `relative_cost` (V_types×W, 0..1) feeds the cost weight."""
    plans = []
    probs_all = torch.sigmoid(outputs["edges"])
    for b, length in enumerate(outputs["lengths"].tolist()):
        type_ids = outputs["types"][b, :length].tolist()
        names = [types.items[i] for i in type_ids]
        probs = probs_all[b, :length, :length]
        raw_edges = [(i, j) for i in range(length) for j in range(length) if i != j and probs[i, j] > 0.5]
        parents = [[i for i in range(j) if probs[i, j] > 0.5] for j in range(length)]
        logits = outputs["workers"][b, :length]
        if relative_cost is not None and cost_weight:
            scores = cost_adjusted(logits, relative_cost[type_ids], cost_weight)
        else:
            scores = logits.log_softmax(-1)
        distribution = scores.softmax(-1)
        chosen = distribution.argmax(-1).tolist()
        top = distribution.topk(min(top_k, distribution.shape[-1]), dim=-1)
        worker_probs = [{workers.items[w]: round(float(p), 4) for p, w in zip(top.values[i], top.indices[i])}
                        for i in range(length)]
        plans.append(DecodedPlan(Graph(names, [workers.items[w] for w in chosen], parents), worker_probs,
                                 not has_cycle(length, raw_edges)))
    return plans
