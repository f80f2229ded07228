"""Which step types a request needs, read off its vector: one logistic classifier per type.

The consensus vote (`model/consensus.py`) weighs whole plans: the model's and those of the nearest training
requests. This classifier gives it a second opinion that is not tied to any one plan: for each type, the
probability that a request's plan has at least one step of it, fitted on the training requests. It reads
`presence_inputs`: the request's vector in the index (the encoder's mean-pooled states, normalised) beside
the planner's own pooled reading of it (`PlannerModel.reading`, normalised), which training has shaped to
tell the types apart. A plan the classifier expects scores high on `expected_f1`, its node-F1 against a
plan drawn from those probabilities.

Types the training requests rarely need get little from their own weights (a type seen four times has four
positive examples). So the classifier may also read how close the request is to each type's *name*, as the
encoder reads it ("flight_ticket_cancelling" as "flight ticket cancelling"): the cosine of the request's index
vector and the name's, times one weight shared by every type (`name_weight`). A request that speaks of cancelling
a flight leans towards that type however rarely the training requests needed it; the weight, fitted with the
rest, says how far names can be trusted. Measured on UltraTool (README, "How good the planner is"): the
classifier alone gains about a point of node-F1 on unseen requests, the planner's vote a quarter to half a point.

Fitted at the end of training (`consensus_fit.py`) by L-BFGS on the L2-penalised log-loss (a convex problem: the
same data give the same weights; the shared name weight is not penalised); kept in the checkpoint's consensus
entry. In single precision: on the 2,422 training requests of UltraTool the fit takes half the time of double
precision's (2.6 against 5.4 s), and its probabilities lie within 0.012 of double's, less than 200 more
iterations move double's own (0.015).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from orchestai_core.model.vocab import name_matrix

STRENGTH = 0.01     # L2 penalty ½·STRENGTH·|W|² per request, beside each request's summed log-loss
ITERATIONS = 200    # L-BFGS iterations (a full batch each)


def presence_inputs(vectors: torch.Tensor, readings: torch.Tensor) -> torch.Tensor:
    """N×(E+H): what the classifier reads of each request, its index vector (N×E) and the planner's reading (N×H)."""
    return torch.cat([vectors.float(), readings.float().to(vectors.device)], 1)


@dataclass
class TypePresence:
    """`types` (the classifier's columns), `weight` (F×T) and `bias` (T); optionally `names` (T×E: each type's
    name as the encoder reads it, normalised) and the weight shared by their cosines with the request's vector
    (the first E features it reads). Without `names` it reads its features alone."""

    types: list[str]
    weight: torch.Tensor
    bias: torch.Tensor
    names: torch.Tensor | None = None
    name_weight: float = 0.0

    @property
    def width(self) -> int:
        """How many features of a request it reads."""
        return self.weight.shape[0]

    def __post_init__(self) -> None:
        if self.weight.ndim != 2 or self.weight.shape[1] != len(self.types) or self.bias.shape != (len(self.types),):
            raise ValueError(f"a type-presence classifier needs one weight column and one bias per type: got "
                             f"weight {tuple(self.weight.shape)}, bias {tuple(self.bias.shape)} for "
                             f"{len(self.types)} types")
        if self.names is not None and (self.names.ndim != 2 or self.names.shape[0] != len(self.types)
                                       or self.names.shape[1] > self.width):
            raise ValueError(f"a type-presence classifier needs one name vector per type, no wider than the "
                             f"{self.width} features it reads: got names {tuple(self.names.shape)} for "
                             f"{len(self.types)} types")
        self.column = {t: j for j, t in enumerate(self.types)}

    @torch.inference_mode()
    def probabilities(self, vectors: torch.Tensor) -> np.ndarray:
        """B×T: per request's features (B×`width`, `presence_inputs`), the probability that its plan has a
        step of each type."""
        if vectors.ndim != 2 or vectors.shape[1] != self.width:
            raise ValueError(f"the type-presence classifier reads {self.width} features of a request, got "
                             f"{tuple(vectors.shape)}")
        x = vectors.float()
        logits = x @ self.weight.to(x.device, torch.float32) + self.bias.to(x.device, torch.float32)
        if self.names is not None:
            logits += self.name_weight * _name_cosines(x, self.names.to(x.device, torch.float32))
        return torch.sigmoid(logits).cpu().numpy()

    def scores(self, plans: Sequence, probabilities: np.ndarray) -> list[float]:
        """Each plan's (anything with `types`) `expected_f1` against one request's `probabilities` (T)."""
        return [expected_f1(Counter(plan.types), probabilities, self.column) for plan in plans]

    def to_dict(self) -> dict:
        out = {"types": list(self.types), "weight": self.weight.float().cpu(), "bias": self.bias.float().cpu()}
        if self.names is not None:
            out.update(names=self.names.float().cpu(), name_weight=float(self.name_weight))
        return out

    @classmethod
    def from_dict(cls, data: dict) -> TypePresence:
        """A classifier from `to_dict`; one saved before names were read has none."""
        names = data.get("names")
        return cls(list(data["types"]), data["weight"].float(), data["bias"].float(),
                   None if names is None else names.float(), float(data.get("name_weight", 0.0)))


def _name_cosines(x: torch.Tensor, names: torch.Tensor) -> torch.Tensor:
    """N×T: the cosine of each request's vector (the first E of its N×F features, normalised) with each type's
    name (T×E, normalised)."""
    return x[:, :names.shape[1]] @ names.T


def fit_presence(vectors: torch.Tensor, plans: Sequence[Sequence[str]], strength: float = STRENGTH,
                 iterations: int = ITERATIONS, dtype: torch.dtype = torch.float32,
                 names: Mapping[str, torch.Tensor] | None = None) -> TypePresence:
    """The classifier of the types in `plans` (each plan's step types), one per row of `vectors` (N×F), fitted
    in `dtype`. `names`: each type's name vector (E, normalised; the rows' first E features are their index
    vectors), read through one shared weight; None fits the features alone."""
    if vectors.ndim != 2 or vectors.shape[0] != len(plans):
        raise ValueError(f"fitting type presence needs one vector per plan: got {vectors.shape[0]} vectors "
                         f"for {len(plans)} plans")
    types = sorted({t for plan in plans for t in plan})
    column = {t: j for j, t in enumerate(types)}
    x = vectors.detach().to("cpu", dtype).clone()  # a copy: vectors made under inference mode cannot be trained on
    y = torch.zeros(len(plans), len(types), dtype=dtype)
    for i, plan in enumerate(plans):
        for t in plan:
            y[i, column[t]] = 1.0
    weight = torch.zeros(x.shape[1], len(types), dtype=dtype, requires_grad=True)
    bias = torch.zeros(len(types), dtype=dtype, requires_grad=True)
    name_weight = torch.zeros((), dtype=dtype, requires_grad=True)
    name_vectors = cosines = None
    if names is not None:
        name_vectors = name_matrix(names, types, x.shape[1])
        cosines = _name_cosines(x, name_vectors.to(dtype))
    if types:
        trained = [weight, bias] + ([name_weight] if cosines is not None else [])
        optimiser = torch.optim.LBFGS(trained, lr=1.0, max_iter=iterations, history_size=20,
                                      line_search_fn="strong_wolfe", tolerance_grad=1e-6)
        n = len(plans)

        def objective() -> torch.Tensor:
            optimiser.zero_grad()
            logits = x @ weight + bias if cosines is None else x @ weight + bias + name_weight * cosines
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum")
                    + 0.5 * strength * (weight * weight).sum()) / n
            loss.backward()
            return loss

        optimiser.step(objective)
    return TypePresence(types, weight.detach().float(), bias.detach().float(), name_vectors,
                        float(name_weight.detach()))


def expected_f1(types: Counter, probabilities: np.ndarray, column: dict[str, int]) -> float:
    """A plan's node-F1 (its type counts) against the types a request is expected to need (`probabilities`
    over the classifier's `column`s): the expected overlap Σ p over the plan's distinct types, against the
    plan's size and the expected number of types. Types the classifier never saw count as absent."""
    overlap = sum(float(probabilities[column[t]]) for t in types if t in column)
    size = sum(types.values()) + float(probabilities.sum())
    return 2.0 * overlap / size if size > 0 else 0.0
