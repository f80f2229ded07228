"""Which step types a request needs, read off its vector: one logistic classifier per type.

The consensus vote (`model/consensus.py`) weighs whole plans: the model's and those of the nearest training
requests. This classifier gives it a second opinion that is not tied to any one plan: for each type, the
probability that a request's plan has at least one step of it, fitted on the training requests. It reads
`presence_inputs`: the request's vector in the index (the encoder's mean-pooled states, normalised) beside
the planner's own pooled reading of it (`PlannerModel.reading`, normalised), which training has shaped to
tell the types apart. A plan the classifier expects scores high on `expected_f1`, its node-F1 against a
plan drawn from those probabilities.

Fitted at the end of training (`consensus_fit.py`) by L-BFGS on the L2-penalised log-loss (a convex problem: the
same data give the same weights); kept in the checkpoint's consensus entry. In single precision: on the 2,422
training requests of UltraTool the fit takes half the time of double precision's (2.6 against 5.4 s), and its
probabilities lie within 0.012 of double's, less than 200 more iterations move double's own (0.015).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

STRENGTH = 0.01     # L2 penalty ½·STRENGTH·|W|² per request, beside each request's summed log-loss
ITERATIONS = 200    # L-BFGS iterations (a full batch each)


def presence_inputs(vectors: torch.Tensor, readings: torch.Tensor) -> torch.Tensor:
    """N×(E+H): what the classifier reads of each request, its index vector (N×E) and the planner's reading (N×H)."""
    return torch.cat([vectors.float(), readings.float().to(vectors.device)], 1)


@dataclass
class TypePresence:
    """`types` (the classifier's columns), `weight` (E×T) and `bias` (T)."""

    types: list[str]
    weight: torch.Tensor
    bias: torch.Tensor

    @property
    def width(self) -> int:
        """How many features of a request it reads."""
        return self.weight.shape[0]

    def __post_init__(self) -> None:
        if self.weight.ndim != 2 or self.weight.shape[1] != len(self.types) or self.bias.shape != (len(self.types),):
            raise ValueError(f"a type-presence classifier needs one weight column and one bias per type: got "
                             f"weight {tuple(self.weight.shape)}, bias {tuple(self.bias.shape)} for "
                             f"{len(self.types)} types")
        self.column = {t: j for j, t in enumerate(self.types)}

    @torch.inference_mode()
    def probabilities(self, vectors: torch.Tensor) -> np.ndarray:
        """B×T: per request's features (B×`width`, `presence_inputs`), the probability that its plan has a
        step of each type."""
        if vectors.ndim != 2 or vectors.shape[1] != self.width:
            raise ValueError(f"the type-presence classifier reads {self.width} features of a request, got "
                             f"{tuple(vectors.shape)}")
        weight = self.weight.to(vectors.device, torch.float32)
        return torch.sigmoid(vectors.float() @ weight + self.bias.to(vectors.device, torch.float32)).cpu().numpy()

    def scores(self, plans: Sequence, probabilities: np.ndarray) -> list[float]:
        """Each plan's (anything with `types`) `expected_f1` against one request's `probabilities` (T)."""
        return [expected_f1(Counter(plan.types), probabilities, self.column) for plan in plans]

    def to_dict(self) -> dict:
        return {"types": list(self.types), "weight": self.weight.float().cpu(), "bias": self.bias.float().cpu()}

    @classmethod
    def from_dict(cls, data: dict) -> TypePresence:
        return cls(list(data["types"]), data["weight"].float(), data["bias"].float())


def fit_presence(vectors: torch.Tensor, plans: Sequence[Sequence[str]], strength: float = STRENGTH,
                 iterations: int = ITERATIONS, dtype: torch.dtype = torch.float32) -> TypePresence:
    """The classifier of the types in `plans` (each plan's step types), one per row of `vectors` (N×F), fitted
    in `dtype`."""
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
    if types:
        optimiser = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=iterations, history_size=20,
                                      line_search_fn="strong_wolfe", tolerance_grad=1e-6)
        n = len(plans)

        def objective() -> torch.Tensor:
            optimiser.zero_grad()
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(x @ weight + bias, y, reduction="sum")
                    + 0.5 * strength * (weight * weight).sum()) / n
            loss.backward()
            return loss

        optimiser.step(objective)
    return TypePresence(types, weight.detach().float(), bias.detach().float())


def expected_f1(types: Counter, probabilities: np.ndarray, column: dict[str, int]) -> float:
    """A plan's node-F1 (its type counts) against the types a request is expected to need (`probabilities`
    over the classifier's `column`s): the expected overlap Σ p over the plan's distinct types, against the
    plan's size and the expected number of types. Types the classifier never saw count as absent."""
    overlap = sum(float(probabilities[column[t]]) for t in types if t in column)
    size = sum(types.values()) + float(probabilities.sum())
    return 2.0 * overlap / size if size > 0 else 0.0
