"""The logging policy that picked the workers in synthetic logs: an expert that explores.

The expert picks the cheapest worker good enough for the sub-task type. "Good enough" depends on the
type's bar and on the instruction's mode: a tight budget lowers the bar, a premium request raises it, an
urgent one prefers the fastest qualifying worker. It never looks at how hard the request is. With
probability EXPLORE the logging policy instead picks, uniformly, another plausible worker (one not far
below the bar); every logged choice carries its exact probability (`choice_prob`).
"""

from __future__ import annotations

import random

from orchestai_core.catalogue import Catalogue, Worker
from orchestai_core.synth.tasks import TASK_TYPES

MODES = ("standard", "budget", "urgent", "premium")
MODE_WEIGHTS = (0.55, 0.15, 0.15, 0.15)
BAR_SHIFT = {"standard": 0.0, "budget": -0.1, "urgent": 0.0, "premium": 0.05}
MIN_QUALITY = 0.5
EXPLORE = 0.1
PLAUSIBLE_QUALITY = 0.3  # exploration only lands on workers at least this good at the type,
PLAUSIBLE_MARGIN = 0.2   # and at most this far below the type's bar for the mode


def quality_bar(task_type: str, mode: str) -> float:
    """The quality the expert asks of a worker for a step of `task_type` in a request of `mode`."""
    return max(MIN_QUALITY, TASK_TYPES[task_type].difficulty + BAR_SHIFT[mode])


def expert_worker(task_type: str, mode: str, catalogue: Catalogue) -> Worker:
    """The worker the expert picks (the logging policy's choice when it does not explore)."""
    info = TASK_TYPES[task_type]
    bar = quality_bar(task_type, mode)
    eligible = [w for w in catalogue.workers if w.quality_for(task_type) >= bar]
    if not eligible:
        return max(catalogue.workers, key=lambda w: w.quality_for(task_type))
    if mode == "urgent":
        return min(eligible, key=lambda w: (w.latency_ms(info.tokens_out), w.name))
    return min(eligible, key=lambda w: (w.cost_usd(info.tokens_in, info.tokens_out), -w.quality_for(task_type),
                                        w.name))


def _alternatives(task_type: str, mode: str, best: Worker, catalogue: Catalogue) -> list[Worker]:
    """Workers an exploratory choice may land on: any other not far below the bar."""
    floor = max(PLAUSIBLE_QUALITY, quality_bar(task_type, mode) - PLAUSIBLE_MARGIN)
    return [w for w in catalogue.workers if w is not best and w.quality_for(task_type) >= floor]


class LoggingPolicy:
    """The exploring expert over one catalogue; each (type, mode) distribution is worked out once."""

    def __init__(self, catalogue: Catalogue, explore: float = EXPLORE) -> None:
        if not 0.0 <= explore < 1.0:
            raise ValueError(f"explore must be in [0, 1), got {explore!r}")
        self.catalogue, self.explore = catalogue, explore
        self._memo: dict[tuple[str, str], dict[str, float]] = {}

    def distribution(self, task_type: str, mode: str) -> dict[str, float]:
        """Probability of each worker of the catalogue for a step (zero for those never chosen); sums to 1."""
        key = (task_type, mode)
        if key not in self._memo:
            best = expert_worker(task_type, mode, self.catalogue)
            others = _alternatives(task_type, mode, best, self.catalogue)
            probs = {w.name: 0.0 for w in self.catalogue.workers}
            probs[best.name] = 1.0 - self.explore if others else 1.0
            for w in others:
                probs[w.name] = self.explore / len(others)
            self._memo[key] = probs
        return self._memo[key]

    def choose(self, task_type: str, mode: str, rng: random.Random) -> tuple[Worker, float]:
        """A worker drawn from the distribution, and the probability with which it was drawn."""
        probs = self.distribution(task_type, mode)
        support = [name for name, p in probs.items() if p > 0]
        name = rng.choices(support, [probs[n] for n in support])[0]
        return self.catalogue.get(name), probs[name]
