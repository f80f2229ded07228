"""Plan quality metrics, as pure functions over (types, workers, parents) graphs.

- node-F1: F1 of the multiset of predicted vs. gold sub-task types, per log, averaged;
- edge-F1: the same over (parent type, child type) pairs;
- exact match: both multisets equal (the whole graph, up to the order of parallel steps);
- worker accuracy: on nodes matched by type (in order), the share with the gold worker; and, on logs that
  record `choice_prob`, the same on the steps the logging policy chose as its own (probability above
  `PREFERRED`): a policy that explores logs some workers at random, which no imitation can predict;
- DAG validity: the share of predicted graphs without a cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from orchestai_core.dag import Graph, find_cycle
from orchestai_core.model.retrieval import FAMILIAR_SHARE, PlanIndex

NO_TEMPLATE = "(none)"  # what per-template results call logs that name no template (real logs, TaskBench rows)
PLAN_METRICS = ("dag_validity", "node_f1", "edge_f1", "exact_match", "worker_accuracy")  # what a plan is judged by
UNFAMILIAR_WARN = 0.1  # a share of unfamiliar logs (ten times a sample of the planner's own domains) worth a warning
PREFERRED = 0.5  # a logged choice more likely than this was the logging policy's own, not an exploration


def multiset_f1(predicted: Counter, gold: Counter) -> float:
    if not predicted and not gold:
        return 1.0
    small, large = (predicted, gold) if len(predicted) <= len(gold) else (gold, predicted)
    overlap = 0  # the size of the multisets' intersection (`&`, without building it: consensus votes call this a lot)
    for key, count in small.items():
        shared = min(count, large.get(key, 0))
        if shared > 0:
            overlap += shared
    if overlap == 0:
        return 0.0
    precision, recall = overlap / sum(predicted.values()), overlap / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def matched_nodes(predicted: Graph, gold: Graph) -> list[tuple[int, int]]:
    """(predicted node, gold node) for gold nodes matched to a predicted node of the same type, in order."""
    free: dict[str, list[int]] = {}
    for i, t in enumerate(predicted.types):
        free.setdefault(t, []).append(i)
    return [(free[t].pop(0), j) for j, t in enumerate(gold.types) if free.get(t)]


def matched_workers(predicted: Graph, gold: Graph) -> list[tuple[str | None, str | None]]:
    """(predicted worker, gold worker) for gold nodes matched to a predicted node of the same type."""
    return [(predicted.workers[i], gold.workers[j]) for i, j in matched_nodes(predicted, gold)]


def score(predicted: Graph, gold: Graph, choice_probs: Sequence[float | None] = ()) -> dict:
    """Metrics of one predicted graph against its gold graph; `choice_probs`, the gold steps' `choice_prob`
    (None where not recorded), tell which logged workers the logging policy chose as its own."""
    types, gold_types = Counter(predicted.types), Counter(gold.types)
    pairs, gold_pairs = predicted.edge_pairs(), gold.edge_pairs()
    hits = [(j, predicted.workers[i] == gold.workers[j]) for i, j in matched_nodes(predicted, gold)
            if gold.workers[j] is not None]
    preferred = [hit for j, hit in hits if j < len(choice_probs) and choice_probs[j] is not None
                 and choice_probs[j] > PREFERRED]
    return {
        "node_f1": multiset_f1(types, gold_types), "edge_f1": multiset_f1(pairs, gold_pairs),
        "exact_match": float(types == gold_types and pairs == gold_pairs),
        "dag_valid": float(find_cycle(predicted.parents) is None),
        "worker_hits": sum(hit for _, hit in hits), "worker_total": len(hits),
        "preferred_hits": sum(preferred), "preferred_total": len(preferred),
    }


def aggregate(scores: Sequence[dict]) -> dict:
    """Averages over logs; worker accuracy pooled over all matched nodes."""
    n = len(scores)
    if n == 0:
        return {"n": 0, **dict.fromkeys(PLAN_METRICS), "worker_accuracy_preferred": None}
    hits, total = sum(s["worker_hits"] for s in scores), sum(s["worker_total"] for s in scores)
    preferred = sum(s["preferred_total"] for s in scores)
    return {
        "n": n,
        "dag_validity": sum(s["dag_valid"] for s in scores) / n,
        "node_f1": sum(s["node_f1"] for s in scores) / n,
        "edge_f1": sum(s["edge_f1"] for s in scores) / n,
        "exact_match": sum(s["exact_match"] for s in scores) / n,
        "worker_accuracy": hits / total if total else None,
        # on the steps the logging policy chose as its own (`choice_prob` > PREFERRED); None when none records it
        "worker_accuracy_preferred": (sum(s["preferred_hits"] for s in scores) / preferred
                                      if preferred else None),
    }


def confusion(pairs: Sequence[tuple[str | None, str | None]]) -> dict[str, dict[str, int]]:
    """Worker confusion matrix: gold worker → predicted worker → count."""
    matrix: dict[str, dict[str, int]] = {}
    for predicted, gold in pairs:
        if gold is None:
            continue
        row = matrix.setdefault(gold, {})
        row[str(predicted)] = row.get(str(predicted), 0) + 1
    return matrix


def evaluate_planner(planner, examples, batch_size: int = 64, progress=None, cases: list | None = None) -> dict:
    """Metrics of a planner on examples, per template, the worker confusion matrix, the
    nearest-neighbour baseline (the plan of the most similar training instruction), and what of the
    examples the planner cannot take whole (`cut`, sentences). `progress(done, total)` is called after
    each batch planned; `cases`, when given, receives every example's Case (for error analysis).
    Each example is left out of its own consensus vote and baseline (leave-one-out, by its id): evaluating on
    logs the planner's index keeps (its validation logs) never votes for nor copies a log's own plan.
    The encoder reads each instruction once: the baseline looks its neighbours up by the vectors of the pass
    that planned it."""
    planned, vectors = _planned(planner, examples, batch_size, progress)
    if cases is not None:
        cases.extend(planned)
    result = summarise_cases(planned)
    found = [c.neighbour for c in planned]  # none found: a planner that does not look them up while planning
    result["baseline"] = nearest_neighbour_baseline(planner, examples, vectors,
                                                    found if any(n is not None for n in found) else None)
    result["cut"] = [c.message for c in planner.model.cuts(examples)]
    result["unfamiliar"] = unfamiliar_share(planned, getattr(planner, "familiar_floor", None))
    return result


def unfamiliar_share(cases: Sequence[Case], floor: float | None) -> dict | None:
    """How many of the cases' requests are unlike those the planner learnt from: their nearest training request
    (each leaving its own log out) less similar than the planner's `familiar_floor`, which 99 in 100 of its own
    requests reach. None when the planner has no index to tell."""
    known = [c.nearest for c in cases if c.nearest is not None]
    if floor is None or not known:
        return None
    return {"logs": sum(s < floor for s in known), "of": len(known), "floor": round(floor, 3)}


def unfamiliar_message(entry: dict | None) -> str | None:
    """`unfamiliar_share` in words, for `orchestai eval` and the Evaluate page."""
    if not entry:
        return None
    return (f"{entry['logs']:,} of {entry['of']:,} logs ({entry['logs'] / entry['of']:.0%}) are unlike the requests "
            f"the planner learnt from: their nearest training request is less similar than {entry['floor']:.2f} "
            f"(cosine), which {FAMILIAR_SHARE} of its own requests reach")


def mostly_unfamiliar(entry: dict | None) -> bool:
    """Whether more of the logs are unfamiliar than the 1 in 100 a sample of the planner's own domains would
    have, by far (`UNFAMILIAR_WARN`): its figures then say how it does on requests from elsewhere."""
    return bool(entry) and entry["logs"] > UNFAMILIAR_WARN * entry["of"]


def nearest_neighbour_baseline(planner, examples, vectors: torch.Tensor | None = None,
                               neighbours: Sequence[int | None] | None = None) -> dict:
    """Copy the plan of the most similar training instruction (cosine of the same encoder's embeddings; those
    of the planner's index when it has one: every log it learnt from, validation logs included), each example
    leaving its own log out. `vectors`: the examples' embeddings (`Planner.embed`'s), when already computed;
    `neighbours`: each example's nearest row in the planner's index, when planning already found them (a plan's
    `nearest`; None for an example with no other log to copy)."""
    index = getattr(planner, "index", None)
    if index is None and planner.train_plans:
        index, neighbours = PlanIndex(planner.embed([t["instruction"] for t in planner.train_plans]),
                                      planner.train_plans), None  # rows of an index planning did not read
    if index is None or not len(index) or not examples:
        return aggregate([])
    if neighbours is None:
        queries = planner.embed([e.instruction for e in examples]) if vectors is None else vectors
        indices, _ = index.nearest(queries, 1, [e.id for e in examples])
        neighbours = [near[0] if near else None for near in indices]
    elif len(neighbours) != len(examples):
        raise ValueError(f"got {len(neighbours)} nearest rows for {len(examples)} examples")
    return aggregate([score(index.graphs[row], Graph(e.types, e.workers, e.parents), e.choice_probs)
                      for e, row in zip(examples, neighbours) if row is not None])


@dataclass
class Case:
    """One example's predicted graph beside its gold graph, with its scores (for error analysis)."""

    id: str
    instruction: str
    template: str | None
    predicted: Graph
    gold: Graph
    scores: dict
    raw_acyclic: bool
    nearest: float | None = None  # similarity of its nearest training request (its own log left out), if known
    neighbour: int | None = None  # that request's row in the planner's index


def evaluate_cases(planner, examples, batch_size: int = 64, progress=None) -> list[Case]:
    """Plan every example and score it, each left out of its own consensus vote; `progress(done, total)` is
    called after each batch."""
    return _planned(planner, examples, batch_size, progress)[0]


def _planned(planner, examples, batch_size: int, progress) -> tuple[list[Case], torch.Tensor]:
    """`evaluate_cases`, and the examples' embeddings (N×E) from the same pass of the encoder. Batches hold
    instructions of similar length (little padding); cases and vectors come back in the examples' order."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].instruction))
    cases: list[Case | None] = [None] * len(examples)
    vectors: list[torch.Tensor | None] = [None] * len(examples)
    for start in range(0, len(order), batch_size):
        part = order[start:start + batch_size]
        plans, embedded = planner.decode_and_embed([examples[i].instruction for i in part],
                                                   leave_out=[examples[i].id for i in part])
        for i, plan, vector in zip(part, plans, embedded):
            e = examples[i]
            gold = Graph(e.types, e.workers, e.parents)
            cases[i] = Case(e.id, e.instruction, e.template, plan.graph, gold,
                            score(plan.graph, gold, e.choice_probs), plan.raw_acyclic,
                            None if plan.nearest is None else plan.nearest.similarity,
                            None if plan.nearest is None else plan.nearest.row)
            vectors[i] = vector
        if progress is not None:
            progress(min(start + batch_size, len(order)), len(examples))
    return cases, torch.stack(vectors) if vectors else torch.zeros(0, 0)


def summarise_cases(cases: Sequence[Case]) -> dict:
    """What `evaluate_planner` reports, except the baseline, from per-case results."""
    per_template: dict[str, list[dict]] = {}
    for c in cases:
        per_template.setdefault(c.template or NO_TEMPLATE, []).append(c.scores)
    result = aggregate([c.scores for c in cases])
    result["raw_acyclic"] = sum(c.raw_acyclic for c in cases) / len(cases) if cases else None
    result["per_template"] = {t: aggregate(v) for t, v in sorted(per_template.items())}
    result["worker_confusion"] = confusion([p for c in cases for p in matched_workers(c.predicted, c.gold)])
    return result
