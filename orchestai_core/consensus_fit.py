"""Fitting consensus decoding (`model/consensus.py`) to a trained planner, at the end of its training.

The training plans' vectors are pooled from the token states the trainer already cached (nothing is encoded
twice); a type-presence classifier (`model/presence.py`) is fitted on them; the validation logs are planned
by the model alone, each beside its nearest training plans, and the model weight and presence weight that
plan them best are kept, or none (consensus off) when the model alone does best.

What the planner then reads learns from every log it was given: its index holds the validation plans beside
the training plans, and the classifier, when the vote reads it, is fitted again on both with the same
settings. What `fit` returns is the checkpoint's `consensus` entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

from orchestai_core.dag import Graph
from orchestai_core.examples import Example
from orchestai_core.model.consensus import K, fit_settings
from orchestai_core.model.presence import fit_presence
from orchestai_core.model.retrieval import PlanIndex, pool

MAX_VALIDATION = 500  # validation logs planned to fit the weight
BATCH = 64


@torch.inference_mode()
def vectors_from_states(encoder, states: Sequence[torch.Tensor], device: torch.device | str = "cpu") -> torch.Tensor:
    """N×E normalised vectors of instructions from their cached frozen-encoder token states (T×E each),
    through the encoder's fine-tuned top layers if it has any: what `Planner.embed` gives, without
    running the frozen layers again."""
    parts = []
    for start in range(0, len(states), BATCH):
        part = [s.to(device).float() for s in states[start:start + BATCH]]
        padded = pad_sequence(part, batch_first=True)
        mask = (torch.arange(padded.shape[1], device=device).unsqueeze(0)
                < torch.tensor([s.shape[0] for s in part], device=device).unsqueeze(1)).long()
        parts.append(pool(encoder.tuned_states(padded, mask), mask).cpu())
    return torch.cat(parts) if parts else torch.zeros(0, encoder.hidden_size)


def fit(planner, train_vectors: torch.Tensor, validation: Sequence[Example],
        validation_vectors: torch.Tensor | None = None) -> dict:
    """The `consensus` entry of `planner`'s checkpoint: the vectors (fp16) of its training plans and then of
    `validation`'s plans (kept as `validation_plans`), the fitted settings, the type-presence classifier when
    the settings read it, and each setting's validation metrics. `planner` must have been loaded with
    consensus off; `validation_vectors` (one per validation example, as `vectors_from_states` gives) spare
    encoding them."""
    if planner.consensus.on:
        raise ValueError("fit consensus on a planner loaded with consensus=False: it must plan alone")
    validation = list(validation)
    if validation_vectors is None:
        validation_vectors = planner.embed([e.instruction for e in validation])
    index = PlanIndex(train_vectors, planner.train_plans)
    train_types = [p["types"] for p in planner.train_plans]
    presence = fit_presence(train_vectors, train_types)
    examples = validation[:MAX_VALIDATION]
    texts = [e.instruction for e in examples]
    model_plans = [d.graph for d in planner.decode_batch(texts)] if texts else []
    vectors = validation_vectors[:len(examples)]
    indices, sims = index.nearest(vectors, K) if texts else ([], [])
    neighbours = [[index.graphs[i] for i in near] for near in indices]
    expected = presence.probabilities(vectors) if texts else []
    scores = [presence.scores([plan, *near], row) for plan, near, row in zip(model_plans, neighbours, expected)]
    gold = [Graph(e.types, e.workers, e.parents) for e in examples]
    settings, table = fit_settings(model_plans, neighbours, sims, gold, scores)
    validation_plans = [{"id": e.id, "instruction": e.instruction, "types": e.types, "workers": e.workers,
                         "parents": e.parents} for e in validation]
    every_vector = torch.cat([train_vectors, validation_vectors.to(train_vectors.device)])
    kept = None
    if settings.on and settings.presence_weight:
        kept = fit_presence(every_vector, train_types + [e.types for e in validation]).to_dict()
    return {"vectors": every_vector.half(), "validation_plans": validation_plans, "presence": kept,
            **settings.to_dict(), "validation": table}
