"""Simulated outcomes of a step: success from the worker's quality and the request's difficulty, and
tokens, cost and latency from the catalogue.

Steps that need a failed or skipped step are skipped.
"""

from __future__ import annotations

import math
import random

from orchestai_core.catalogue import Worker
from orchestai_core.synth.tasks import TASK_TYPES

# Success model: an item-response curve in the worker's quality for the type against the skill the step
# needs. The need starts below the type's bar (the quality the expert policy asks for) on the easiest
# requests and ends above it on the hardest, so on easy requests a cheap worker is nearly as good as a
# strong one and on hard ones it is far worse; even the best worker fails a hard request at times.
SLOPE = 18.0         # how sharply success falls once quality drops below the need
EASE = 0.4           # need on the easiest request (difficulty 0): the type's bar minus EASE
SPAN = 0.6           # need on the hardest request (difficulty 1): the type's bar minus EASE plus SPAN
NEED_FLOOR = 0.3     # no step needs less: a worker that cannot do the type (quality ~0) fails it
CEILING = 0.998      # irreducible failures (timeouts, malformed output)
TOKEN_SIGMA = 0.35   # log-normal spread of token counts around the type's typical counts
FAILED_OUTPUT = 3    # a failed step stops early: a third of its output tokens


def success_probability(task_type: str, worker: Worker, difficulty: float) -> float:
    """Probability that `worker` succeeds at a step of `task_type` in a request of `difficulty` (0..1)."""
    need = max(NEED_FLOOR, TASK_TYPES[task_type].difficulty - EASE + SPAN * difficulty)
    return CEILING / (1.0 + math.exp(-SLOPE * (worker.quality_for(task_type) - need)))


def expected_cost_usd(task_type: str, worker: Worker, difficulty: float) -> float:
    """Expected cost of running the step (not skipped), over token counts and outcome."""
    info = TASK_TYPES[task_type]
    spread = math.exp(TOKEN_SIGMA ** 2 / 2)  # mean of the log-normal factor
    p = success_probability(task_type, worker, difficulty)
    out_share = p + (1.0 - p) / FAILED_OUTPUT
    return worker.cost_usd(info.tokens_in * spread, info.tokens_out * spread * out_share)


def simulate_step(task_type: str, worker: Worker, difficulty: float, blocked: bool, rng: random.Random) -> dict:
    """Outcome fields of one subtask (`status`, tokens, `cost_usd`, `latency_ms`)."""
    if blocked:
        return {"status": "skipped", "cost_usd": 0.0, "latency_ms": 0.0}
    info = TASK_TYPES[task_type]
    tokens_in = max(1, round(info.tokens_in * rng.lognormvariate(0.0, TOKEN_SIGMA))) if info.tokens_in else 0
    tokens_out = max(1, round(info.tokens_out * rng.lognormvariate(0.0, TOKEN_SIGMA))) if info.tokens_out else 0
    failed = rng.random() >= success_probability(task_type, worker, difficulty)
    if failed:
        tokens_out //= FAILED_OUTPUT
    latency = worker.latency_ms(tokens_out) * rng.lognormvariate(0.0, worker.latency_jitter)
    return {
        "status": "failed" if failed else "success",
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": round(worker.cost_usd(tokens_in, tokens_out), 6),
        "latency_ms": round(latency, 1),
    }
