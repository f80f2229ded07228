"""The expert policy that picked the workers in synthetic logs: the cheapest worker good enough.

"Good enough" depends on the sub-task type's difficulty and on the instruction's mode: a tight budget
lowers the bar, a premium request raises it, an urgent one prefers the fastest qualifying worker.
About 5 % of choices are noise (another plausible worker), as in real logs.
"""

from __future__ import annotations

import random

from orchestai_core.catalogue import Catalogue, Worker
from orchestai_core.synth.tasks import TASK_TYPES

MODES = ("standard", "budget", "urgent", "premium")
MODE_WEIGHTS = (0.55, 0.15, 0.15, 0.15)
BAR_SHIFT = {"standard": 0.0, "budget": -0.1, "urgent": 0.0, "premium": 0.05}
MIN_QUALITY = 0.5
NOISE = 0.05


def expert_worker(task_type: str, mode: str, catalogue: Catalogue) -> Worker:
    """The worker the expert policy picks, before noise."""
    info = TASK_TYPES[task_type]
    bar = max(MIN_QUALITY, info.difficulty + BAR_SHIFT[mode])
    eligible = [w for w in catalogue.workers if w.quality_for(task_type) >= bar]
    if not eligible:
        return max(catalogue.workers, key=lambda w: w.quality_for(task_type))
    if mode == "urgent":
        return min(eligible, key=lambda w: (w.latency_ms(info.tokens_out), w.name))
    return min(eligible, key=lambda w: (w.cost_usd(info.tokens_in, info.tokens_out), -w.quality_for(task_type),
                                        w.name))


def _alternatives(task_type: str, best: Worker, catalogue: Catalogue) -> list[Worker]:
    """Workers a noisy choice may land on: any other that can do the type at all."""
    return [w for w in catalogue.workers if w is not best and w.quality_for(task_type) >= 0.3]


class ExpertPolicy:
    """The expert policy over one catalogue; each (type, mode) choice is worked out once."""

    def __init__(self, catalogue: Catalogue, noise: float = NOISE) -> None:
        self.catalogue, self.noise = catalogue, noise
        self._memo: dict[tuple[str, str], tuple[Worker, list[Worker]]] = {}

    def choose(self, task_type: str, mode: str, rng: random.Random) -> tuple[Worker, bool]:
        """The worker recorded in the log, and whether it was a noisy choice."""
        key = (task_type, mode)
        if key not in self._memo:
            best = expert_worker(task_type, mode, self.catalogue)
            self._memo[key] = best, _alternatives(task_type, best, self.catalogue)
        best, others = self._memo[key]
        if rng.random() >= self.noise or not others:
            return best, False
        return rng.choice(others), True


def choose_worker(task_type: str, mode: str, catalogue: Catalogue, rng: random.Random,
                  noise: float = NOISE) -> tuple[Worker, bool]:
    """One choice of the expert policy (see `ExpertPolicy`)."""
    return ExpertPolicy(catalogue, noise).choose(task_type, mode, rng)
