"""Consensus decoding: the model's plan and the plans of the most similar training requests vote.

Each candidate (the model's plan, and the plans of the `k` training requests nearest to the instruction)
gets a weight: a training plan `exp(sharpness × (similarity − best similarity))`, the model's plan
`model_weight` × the neighbours' total. The plan kept is the candidate that agrees most, by those weights,
with all the candidates (minimum Bayes risk over the candidates, agreement = the mean of node-F1 and
edge-F1). A request that resembles several training requests with one plan gets that plan; one that
resembles nothing in particular keeps the model's. Ties keep the model's plan.

A second opinion may join the vote: the type-presence classifier (`model/presence.py`) scores each candidate
by its expected node-F1 against the types the request is expected to need, and `presence_weight` × that score
is added to the candidate's (normalised) weighted agreement. It separates neighbours whose plans split the vote
by what the request itself reads like, not by any one training plan.

Which requests count as nearest is either the encoder's plain cosine or a similarity learnt from the training
plans (`model/similarity.py`; `learned`): it ranks neighbours by how alike their plans are, so more of them
are worth a vote, and the vote reads more of them (`K_LEARNED`) and weighs them more sharply by similarity
(`SHARPNESS_LEARNED`).

`model_weight`, `presence_weight` and the similarity are fitted on the validation logs at the end of training
(`fit_settings`, once per similarity): where the model alone plans best there, `model_weight` is `None` and
consensus is off. Pure functions over `Graph`s, similarities and scores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from orchestai_core.dag import Graph
from orchestai_core.evaluate import aggregate, multiset_f1, score

K = 10                             # training plans that vote
SHARPNESS = 20.0                   # how fast a neighbour's vote falls with its distance (cosine similarity)
MODEL_WEIGHTS = (0.25, 0.4, 0.6)   # tried at the end of training, beside off
PRESENCE_WEIGHTS = (0.2, 0.4, 0.8)  # tried with each model weight, beside 0 (when a presence classifier is fitted)
K_LEARNED = 20                     # training plans that vote under the learnt similarity
SHARPNESS_LEARNED = 40.0


@dataclass(frozen=True)
class ConsensusSettings:
    """How plans are voted on; `model_weight` None means the model's plan is kept as decoded."""

    model_weight: float | None
    k: int = K
    sharpness: float = SHARPNESS
    presence_weight: float = 0.0   # of the type-presence score beside the agreement (0 = plans vote alone)
    learned: bool = False          # neighbours by the similarity learnt from the plans, not the plain cosine

    def __post_init__(self) -> None:
        if self.model_weight is not None and not self.model_weight >= 0:
            raise ValueError(f"consensus model_weight must be >= 0 or None, got {self.model_weight!r}")
        if not self.presence_weight >= 0:
            raise ValueError(f"consensus presence_weight must be >= 0, got {self.presence_weight!r}")
        if self.k < 1:
            raise ValueError(f"consensus k must be at least 1, got {self.k!r}")
        if not self.sharpness >= 0:
            raise ValueError(f"consensus sharpness must be >= 0, got {self.sharpness!r}")

    @property
    def on(self) -> bool:
        return self.model_weight is not None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ConsensusSettings:
        return cls(data.get("model_weight"), int(data.get("k", K)), float(data.get("sharpness", SHARPNESS)),
                   float(data.get("presence_weight", 0.0)), bool(data.get("learned", False)))

    def describe(self) -> str:
        """These settings in words, as `orchestai eval` and the Evaluate page say them."""
        if not self.on:
            return "off (the model's plans as decoded)"
        learnt = ", nearest by the similarity learnt from the plans" if self.learned else ""
        presence = f", type-presence weight {self.presence_weight}" if self.presence_weight else ""
        return (f"on (the model's plan and its {self.k} nearest training plans vote{learnt}; model weight "
                f"{self.model_weight}{presence})")

    @property
    def label(self) -> str:
        """How the fit's table names these settings: "off", the model weight, the presence weight if any, and
        "learned" under the learnt similarity."""
        if not self.on:
            return "off"
        return (str(self.model_weight) + (f" presence {self.presence_weight}" if self.presence_weight else "")
                + (" learned" if self.learned else ""))


def agreement(a: Graph, b: Graph) -> float:
    """How much two plans agree, 0..1: the mean of their node-F1 and edge-F1 against each other."""
    return _agreement((Counter(a.types), a.edge_pairs()), (Counter(b.types), b.edge_pairs()))


def _agreement(a: tuple[Counter, Counter], b: tuple[Counter, Counter]) -> float:
    """`agreement` of two plans given as their (type counts, edge-pair counts)."""
    return 0.5 * (multiset_f1(a[0], b[0]) + multiset_f1(a[1], b[1]))


def candidate_weights(similarities: Sequence[float], model_weight: float, sharpness: float) -> np.ndarray:
    """Weights of [model plan, neighbour 1, …, neighbour k] for neighbours at `similarities` (cosine)."""
    sims = np.asarray(similarities, dtype=float)
    if sims.size == 0:
        return np.ones(1)
    neighbours = np.exp(sharpness * (sims - sims.max()))
    return np.concatenate([[model_weight * neighbours.sum()], neighbours])


def agreements(candidates: Sequence[Graph]) -> np.ndarray:
    """The symmetric matrix of `agreement` between every two candidates (1 on the diagonal). Neighbours often
    share a plan: each distinct plan is compared once (two copies of a plan agree exactly 1)."""
    distinct: dict[tuple, int] = {}  # each distinct plan's place in `counts`
    counts, which = [], []
    for c in candidates:
        key = (tuple(c.types), tuple(map(tuple, c.parents)))
        if key not in distinct:
            distinct[key] = len(counts)
            counts.append((Counter(c.types), c.edge_pairs()))
        which.append(distinct[key])
    out = np.eye(len(counts))
    for a in range(len(counts)):
        for b in range(a + 1, len(counts)):
            out[a, b] = out[b, a] = _agreement(counts[a], counts[b])
    return out[np.ix_(which, which)]


def vote(candidates: Sequence[Graph], weights: Sequence[float], matrix: np.ndarray | None = None,
         presence: Sequence[float] | None = None, presence_weight: float = 0.0) -> int:
    """Index of the candidate with the highest weighted agreement with all candidates (ties: the first).
    `matrix`: their `agreements`, when already worked out. `presence`: each candidate's type-presence score
    (`presence.expected_f1`), added × `presence_weight` to its agreement averaged by the weights."""
    if len(candidates) != len(weights):
        raise ValueError(f"got {len(weights)} weights for {len(candidates)} candidates")
    weights = np.asarray(weights, dtype=float)
    values = (agreements(candidates) if matrix is None else matrix) @ weights
    if presence is not None and presence_weight:
        if len(presence) != len(candidates):
            raise ValueError(f"got {len(presence)} presence scores for {len(candidates)} candidates")
        values = values / weights.sum() + presence_weight * np.asarray(presence, dtype=float)
    best = 0
    for a, value in enumerate(values):
        if value > values[best] + 1e-12:
            best = a
    return best


def choose(model_plan: Graph, neighbours: Sequence[Graph], similarities: Sequence[float],
           settings: ConsensusSettings, matrix: np.ndarray | None = None,
           presence: Sequence[float] | None = None) -> int | None:
    """Which neighbour's plan to keep instead of the model's (its index), or None to keep the model's.
    `matrix`: the `agreements` of [model_plan, *neighbours], when already worked out; `presence`: their
    type-presence scores (read when `settings.presence_weight` is not 0)."""
    if not settings.on or not neighbours:
        return None
    weights = candidate_weights(similarities, settings.model_weight, settings.sharpness)
    winner = vote([model_plan, *neighbours], weights, matrix, presence, settings.presence_weight)
    return None if winner == 0 else winner - 1


def fit_settings(model_plans: Sequence[Graph], neighbours: Sequence[Sequence[Graph]],
                 similarities: Sequence[Sequence[float]], gold: Sequence[Graph],
                 presence: Sequence[Sequence[float]] | None = None, weights: Sequence[float] = MODEL_WEIGHTS,
                 presence_weights: Sequence[float] = PRESENCE_WEIGHTS, k: int = K,
                 sharpness: float = SHARPNESS, learned: bool = False) -> tuple[ConsensusSettings, dict[str, dict]]:
    """The settings that plan `gold` best (mean of node-F1 and edge-F1), and the metrics of each (keyed by
    `ConsensusSettings.label`): off, or one of `weights`, each alone and, when `presence` gives the scores of
    every validation log's [model plan, *neighbours], with each of `presence_weights`. Off wins ties, then
    the plans' vote alone: each addition must earn its place. `learned`: the neighbours are those of the
    learnt similarity (the settings say so)."""
    table: dict[str, dict] = {}
    best, best_value = ConsensusSettings(None, k, sharpness), None
    # what the candidates agree on does not depend on the weights: worked out once per validation log
    matrices = [agreements([plan, *near[:k]]) for plan, near in zip(model_plans, neighbours)]
    scores = [None] * len(model_plans) if presence is None else [list(p)[:k + 1] for p in presence]
    for weight in (None, *weights):
        extra = () if weight is None or presence is None else tuple(presence_weights)
        for presence_weight in (0.0, *extra):
            settings = ConsensusSettings(weight, k, sharpness, presence_weight, learned and weight is not None)
            kept = []
            for plan, near, sims, matrix, score_row in zip(model_plans, neighbours, similarities, matrices, scores):
                pick = choose(plan, near[:k], sims[:k], settings, matrix, score_row)
                kept.append(plan if pick is None else near[pick])
            metrics = aggregate([score(p, g) for p, g in zip(kept, gold)])
            table[settings.label] = metrics
            value = planning_value(metrics)
            if best_value is None or value > best_value + 1e-9:
                best, best_value = settings, value
    return best, table


def fitted_figures(table: dict[str, dict], settings: ConsensusSettings) -> str:
    """The fit's verdict on validation in words: node-F1 by the model alone and as kept ("" when the table
    lacks either)."""
    if not {"off", settings.label} <= set(table):
        return ""
    return (f"validation node-F1 {table['off']['node_f1']:.3f} by the model alone, "
            f"{table[settings.label]['node_f1']:.3f} as kept")


def planning_value(metrics: dict) -> float:
    """What the fit maximises of a setting's validation metrics: the mean of node-F1 and edge-F1."""
    return (metrics["node_f1"] + metrics["edge_f1"]) / 2 if metrics["n"] else 0.0
