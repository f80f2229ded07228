"""Fitting consensus decoding (`model/consensus.py`) to a trained planner, at the end of its training.

The training plans' vectors are pooled from the token states the trainer already cached (nothing is encoded
twice); a type-presence classifier (`model/presence.py`) and a similarity (`model/similarity.py`) are fitted
on them; the validation logs are planned by the model alone, each beside its nearest training plans by the
plain cosine and by the learnt similarity, and the model weight, presence weight and similarity that plan
them best are kept, or none (consensus off) when the model alone does best. The learnt similarity must plan
them strictly better than the plain cosine to be kept.

What the planner then reads learns from every log it was given: its index holds the validation plans beside
the training plans, and the classifier and the similarity, when the vote reads them, are fitted again on both
with the same settings. What `fit` returns is the checkpoint's `consensus` entry.

Then `fit_order` fits the step order (`model/ordering.py`) on the training plans' orders, plans the validation
logs as the planner would plan unseen requests (consensus as fitted, from the training logs alone), and keeps
the weight that re-orders those plans best, or none (0, off) when no weight plans them strictly better. Its
entry is the consensus entry's `order`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

from orchestai_core.dag import Graph
from orchestai_core.evaluate import aggregate, score
from orchestai_core.examples import Example
from orchestai_core.model.batching import Encoded
from orchestai_core.model.consensus import K_LEARNED, SHARPNESS, SHARPNESS_LEARNED, K, fit_settings, planning_value
from orchestai_core.model.ordering import WEIGHTS, fit_step_order, label, reordered
from orchestai_core.model.presence import TypePresence, fit_presence
from orchestai_core.model.retrieval import PlanIndex
from orchestai_core.model.similarity import fit_similarity

MAX_VALIDATION = 500  # validation logs planned to fit the weight
BATCH = 64


@torch.inference_mode()
def readings_from_items(planner, items: Sequence[Encoded]) -> tuple[torch.Tensor, torch.Tensor]:
    """(N×E index vectors, N×F type-presence inputs) of instructions from their cached frozen-encoder token
    states and numbers (`Encoded`), through the encoder's fine-tuned top layers if it has any: what
    `Planner.read` gives, without running the frozen layers again."""
    return planner.stacked_readings([planner.readings(*_padded(items[start:start + BATCH], planner.device))
                                     for start in range(0, len(items), BATCH)])


def plans_from_items(planner, items: Sequence[Encoded]) -> list[Graph]:
    """The plans `planner` decodes for instructions from their cached token states (`Encoded`), in order:
    what `Planner.decode_batch` gives without encoding them again. Batches hold instructions of similar length."""
    order = sorted(range(len(items)), key=lambda i: items[i].tokens.shape[0])
    plans: list[Graph | None] = [None] * len(items)
    for start in range(0, len(order), BATCH):
        part = order[start:start + BATCH]
        for i, decoded in zip(part, planner.decode_encoded(*_padded([items[i] for i in part], planner.device))):
            plans[i] = decoded.graph
    return plans


def _padded(items: Sequence[Encoded], device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(token states B×T×E, attention mask B×T, numbers B×T×2) of cached instructions, padded to the longest."""
    padded = pad_sequence([i.tokens.to(device).float() for i in items], batch_first=True)
    numbers = pad_sequence([i.numbers.to(device) for i in items], batch_first=True)
    mask = (torch.arange(padded.shape[1], device=device).unsqueeze(0)
            < torch.tensor([i.tokens.shape[0] for i in items], device=device).unsqueeze(1)).long()
    return padded, mask, numbers


def fit(planner, train: tuple[torch.Tensor, torch.Tensor], validation: Sequence[Example],
        validation_readings: tuple[torch.Tensor, torch.Tensor] | None = None,
        validation_items: Sequence[Encoded] | None = None, with_held_out: bool = False,
        names: dict[str, torch.Tensor] | None = None) -> dict | tuple[dict, dict]:
    """The `consensus` entry of `planner`'s checkpoint: the vectors (fp16) of its training plans and then of
    `validation`'s plans (kept as `validation_plans`), the fitted settings, the type-presence classifier and
    the learnt similarity when the settings read them, and each setting's validation metrics. `train` and
    `validation_readings` are the requests' (index vectors, type-presence inputs), as `readings_from_items` or
    `Planner.read` give (the latter is run when `validation_readings` is None); `validation_items`, the
    validation requests' cached token states (`Encoded`, in `validation`'s order), spare encoding them again
    to plan them. `planner` must have been loaded with consensus off. `with_held_out`: also return the entry the
    settings were fitted with, which knows the training logs only (their vectors, and the classifier and the
    similarity fitted on them): what plans the validation logs as if unseen, for `fit_order`. `names`: every
    training and validation type's `name_vectors`, when the caller has them (else worked out here)."""
    if planner.consensus.on:
        raise ValueError("fit consensus on a planner loaded with consensus=False: it must plan alone")
    validation = list(validation)
    train_vectors, train_inputs = train
    validation_vectors, validation_inputs = (planner.read([e.instruction for e in validation])
                                             if validation_readings is None else validation_readings)
    train_types = [p["types"] for p in planner.train_plans]
    if names is None:
        names = name_vectors(planner, [t for plan in train_types for t in plan]
                             + [t for e in validation for t in e.types])
    presence = fit_presence(train_inputs, train_types, names=names)
    similarity = fit_similarity(train_vectors, train_types)
    examples = validation[:MAX_VALIDATION]
    texts = [e.instruction for e in examples]
    if not texts:
        model_plans = []
    elif validation_items is not None:
        model_plans = plans_from_items(planner, validation_items[:len(examples)])
    else:
        model_plans = [d.graph for start in range(0, len(texts), BATCH)
                       for d in planner.decode_batch(texts[start:start + BATCH])]
    vectors = validation_vectors[:len(examples)]
    expected = presence.probabilities(validation_inputs[:len(examples)]) if texts else []
    gold = [Graph(e.types, e.workers, e.parents) for e in examples]
    plain = PlanIndex(train_vectors, planner.train_plans)
    learnt = plain.with_vectors(similarity.project(train_vectors))
    near, sims, scores = _candidates(plain, vectors, K, model_plans, presence, expected)
    settings, table = fit_settings(model_plans, near, sims, gold, scores, k=K, sharpness=SHARPNESS)
    near, sims, scores = _candidates(learnt, similarity.project(vectors), K_LEARNED, model_plans, presence, expected)
    other, other_table = fit_settings(model_plans, near, sims, gold, scores, k=K_LEARNED,
                                      sharpness=SHARPNESS_LEARNED, learned=True)
    if other.on and planning_value(other_table[other.label]) > planning_value(table[settings.label]) + 1e-9:
        settings = other
    table |= other_table
    validation_plans = [{"id": e.id, "instruction": e.instruction, "types": e.types, "workers": e.workers,
                         "parents": e.parents} for e in validation]
    every_vector = torch.cat([train_vectors, validation_vectors.to(train_vectors.device)])
    every_types = train_types + [e.types for e in validation]
    kept_presence = kept_similarity = None
    if settings.on and settings.presence_weight:
        every_input = torch.cat([train_inputs, validation_inputs.to(train_inputs.device)])
        kept_presence = fit_presence(every_input, every_types, names=names).to_dict()
    if settings.learned:
        kept_similarity = fit_similarity(every_vector, every_types).to_dict()
    entry = {"vectors": every_vector.half(), "validation_plans": validation_plans, "presence": kept_presence,
             "similarity": kept_similarity, **settings.to_dict(), "validation": table}
    if not with_held_out:
        return entry
    held_out = {**entry, "vectors": train_vectors.half(), "validation_plans": [],
                "presence": presence.to_dict() if settings.on and settings.presence_weight else None,
                "similarity": similarity.to_dict() if settings.learned else None}
    return entry, held_out


def name_vectors(planner, types: Sequence[str]) -> dict[str, torch.Tensor]:
    """Each distinct type's name as `planner`'s encoder reads it ("flight_ticket_cancelling" as "flight ticket
    cancelling"): its `Planner.embed` vector (E, normalised). What the type-presence classifier and the step order
    read of the types."""
    distinct = sorted(set(types))
    if not distinct:
        return {}
    return dict(zip(distinct, planner.embed([name.replace("_", " ") for name in distinct])))


def _candidates(index: PlanIndex, queries: torch.Tensor, k: int, model_plans: Sequence[Graph],
                presence: TypePresence, expected) -> tuple[list, list, list]:
    """(neighbours, similarities, type-presence scores of [model plan, *neighbours]) of each validation log."""
    if not model_plans:
        return [], [], []
    indices, sims = index.nearest(queries, k)
    neighbours = [[index.graphs[i] for i in near] for near in indices]
    scores = [presence.scores([plan, *near], row) for plan, near, row in zip(model_plans, neighbours, expected)]
    return neighbours, sims, scores


def fit_order(planner, fitted, train_items: Sequence[Encoded], validation: Sequence[Example],
              validation_items: Sequence[Encoded], names: dict[str, torch.Tensor] | None = None) -> dict | None:
    """The `order` entry of a checkpoint's consensus entry (`model/ordering.py`): the step order fitted on the
    training plans' orders (`train_items`, cached token states and type ids of `planner`'s vocabulary), its
    weight the one of `WEIGHTS` that re-orders the validation logs' plans best (mean of node-F1 and edge-F1),
    or 0 when none plans them strictly better than their own orders, and the metrics of each (`validation`).
    `planner`: loaded with consensus off (its encoder reads the types' names); `fitted`: the same checkpoint
    planning with consensus as fitted from the training logs alone (`fit`'s held-out entry), which plans the
    validation logs as it would plan unseen requests. `names`: the training types' `name_vectors` at least, when
    the caller has them (else worked out here). None when no training plan has two steps of different types."""
    plans = [[planner.types.items[t] for t in item.types] for item in train_items]
    if names is None:
        names = name_vectors(planner, [t for plan in plans for t in plan])
    if not any(plans):
        return None
    order = fit_step_order([item.tokens for item in train_items], plans, names)
    if order is None:
        return None
    order = order.to(fitted.device)
    examples = list(validation[:MAX_VALIDATION])
    items = list(validation_items[:len(examples)])
    gold = [Graph(e.types, e.workers, e.parents) for e in examples]
    candidates = {0.0: [], **{w: [] for w in WEIGHTS}}  # per weight, the validation plans it re-orders to
    for start in range(0, len(items), BATCH):
        part = range(start, min(start + BATCH, len(items)))
        states, mask, numbers = _padded([items[i] for i in part], fitted.device)
        plans_now = [d.graph for d in fitted.decode_encoded(states, mask, numbers,
                                                             leave_out=[examples[i].id for i in part])]
        places = order.places(states, mask, [plan.types for plan in plans_now])
        for weight, found in candidates.items():
            for plan, where in zip(plans_now, places):
                moved = reordered(plan, where, weight)
                found.append(plan if moved is None else moved[0])
    table = {label(w): aggregate([score(p, g) for p, g in zip(found, gold)]) for w, found in candidates.items()}
    best, best_value = 0.0, planning_value(table[label(0.0)])
    for weight in WEIGHTS:
        value = planning_value(table[label(weight)])
        if value > best_value + 1e-9:
            best, best_value = weight, value
    order.weight = best
    return {**order.to_dict(), "validation": table}
