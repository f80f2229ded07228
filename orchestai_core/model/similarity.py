"""A similarity of requests learnt from their plans: which requests count as alike for the consensus vote.

The index (`model/retrieval.py`) compares requests by the cosine of their encoder vectors (mean-pooled
MiniLM states). Two requests can read alike and need different tools ("book a train" / "find a train"), or
read apart and need the same. This learns a linear map of the vectors, E×E, under which the cosine of two
training requests follows how much their plans agree: for each request, the softmax of its similarities to
the others (temperature `TEMPERATURE`) is fitted to the softmax of their plans' node-F1 with its own plan
(temperature `TARGET_TEMPERATURE`), a listwise cross-entropy over mini-batches of anchors against every
training request. The map starts as the identity (the plain cosine) and takes `EPOCHS` passes of Adam. Past
`MAX_REQUESTS` requests it learns from a seeded sample of them: every step compares its anchors with all the
requests learnt from, and the plans' agreement is held for every pair of them.

The nearest-neighbour baseline keeps the plain cosine: it is the copy of the nearest example that a learned
planner must beat, with nothing learnt. The vote reads the learnt one when the fit at the end of training
finds that it plans the validation logs better (`consensus_fit.py`); it is kept in the checkpoint's
consensus entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

TEMPERATURE = 0.05         # of the learnt cosine similarities in the fitted softmax
TARGET_TEMPERATURE = 0.1   # of the plans' node-F1 in the target softmax
EPOCHS = 10
BATCH = 256                # anchors per step, each against every training request
LEARNING_RATE = 1e-3
SEED = 0
MAX_REQUESTS = 5_000       # learnt from a seeded sample of this many at most: each step reads every one of them


@dataclass
class LearnedSimilarity:
    """`matrix` (E×E): a request's vector v is compared by the cosine of v·matrix."""

    matrix: torch.Tensor

    def __post_init__(self) -> None:
        if self.matrix.ndim != 2 or self.matrix.shape[0] != self.matrix.shape[1]:
            raise ValueError(f"a learnt similarity needs a square matrix, got {tuple(self.matrix.shape)}")

    @property
    def width(self) -> int:
        """The width of the vectors it reads."""
        return self.matrix.shape[0]

    @torch.inference_mode()
    def project(self, vectors: torch.Tensor) -> torch.Tensor:
        """N×E: the vectors (N×E) mapped and normalised; their dot products are the learnt similarities."""
        if vectors.ndim != 2 or vectors.shape[1] != self.width:
            raise ValueError(f"the learnt similarity reads vectors of width {self.width}, got {tuple(vectors.shape)}")
        mapped = vectors.float() @ self.matrix.to(vectors.device, torch.float32)
        return torch.nn.functional.normalize(mapped, dim=-1)

    def to_dict(self) -> dict:
        return {"matrix": self.matrix.float().cpu()}

    @classmethod
    def from_dict(cls, data: dict) -> LearnedSimilarity:
        return cls(data["matrix"].float())


def plan_agreement(plans: Sequence[Sequence[str]]) -> torch.Tensor:
    """N×N: the node-F1 of every two plans (their step types as multisets; 1 between two empty plans)."""
    types = sorted({t for plan in plans for t in plan})
    column = {t: j for j, t in enumerate(types)}
    counts = torch.zeros(len(plans), len(types))
    for i, plan in enumerate(plans):
        for t in plan:
            counts[i, column[t]] += 1
    overlap = torch.zeros(len(plans), len(plans))
    for level in range(1, int(counts.max().item()) + 1 if types else 1):  # Σ_t min(a_t, b_t), a level at a time
        present = (counts >= level).float()
        overlap += present @ present.T
    sizes = counts.sum(1)
    total = sizes.unsqueeze(0) + sizes.unsqueeze(1)
    return torch.where(total > 0, 2 * overlap / total.clamp(min=1), torch.ones_like(overlap))


def fit_similarity(vectors: torch.Tensor, plans: Sequence[Sequence[str]], epochs: int = EPOCHS,
                   seed: int = SEED) -> LearnedSimilarity:
    """The similarity learnt from requests' vectors (N×E) and their plans' step types; the same data and seed
    give the same map."""
    if vectors.ndim != 2 or vectors.shape[0] != len(plans):
        raise ValueError(f"learning a similarity needs one vector per plan: got {tuple(vectors.shape)} vectors "
                         f"for {len(plans)} plans")
    n, width = vectors.shape
    if n < 2:
        return LearnedSimilarity(torch.eye(width))
    generator = torch.Generator().manual_seed(seed)
    with torch.inference_mode(False), torch.enable_grad():  # the vectors may come from inference: copied
        x = vectors.detach().to("cpu", torch.float32).clone()
        if n > MAX_REQUESTS:
            sample = torch.randperm(n, generator=generator)[:MAX_REQUESTS].sort().values
            x, plans, n = x[sample], [plans[i] for i in sample.tolist()], MAX_REQUESTS
        matrix = torch.nn.Parameter(torch.eye(width))
        targets = plan_agreement(plans)
        itself = torch.eye(n, dtype=torch.bool)
        optimiser = torch.optim.Adam([matrix], lr=LEARNING_RATE)
        for _ in range(epochs):
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, BATCH):
                anchors = order[start:start + BATCH]
                mapped = torch.nn.functional.normalize(x @ matrix, dim=-1)
                logits = (mapped[anchors] @ mapped.T / TEMPERATURE).masked_fill(itself[anchors], -1e9)
                wanted = torch.softmax((targets[anchors] / TARGET_TEMPERATURE).masked_fill(itself[anchors], -1e9), 1)
                loss = -(wanted * torch.log_softmax(logits, 1)).sum(1).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    return LearnedSimilarity(matrix.detach().clone())
