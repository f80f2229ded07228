"""Simulated outcomes of a step: tokens, cost and latency from the catalogue, and success or failure.

A step fails with a probability that grows as the worker's quality for the type falls; steps that
need a failed or skipped step are skipped.
"""

from __future__ import annotations

import random

from orchestai_core.catalogue import Worker
from orchestai_core.synth.tasks import TASK_TYPES

FAIL_SCALE = 0.04
FAIL_FLOOR = 0.001


def failure_probability(task_type: str, worker: Worker) -> float:
    return FAIL_FLOOR + FAIL_SCALE * (1.0 - worker.quality_for(task_type))


def simulate_step(task_type: str, worker: Worker, blocked: bool, rng: random.Random) -> dict:
    """Outcome fields of one subtask (`status`, tokens, `cost_usd`, `latency_ms`)."""
    if blocked:
        return {"status": "skipped", "cost_usd": 0.0, "latency_ms": 0.0}
    info = TASK_TYPES[task_type]
    tokens_in = max(1, round(info.tokens_in * rng.lognormvariate(0.0, 0.35))) if info.tokens_in else 0
    tokens_out = max(1, round(info.tokens_out * rng.lognormvariate(0.0, 0.35))) if info.tokens_out else 0
    failed = rng.random() < failure_probability(task_type, worker)
    if failed:
        tokens_out //= 3
    latency = worker.latency_ms(tokens_out) * rng.lognormvariate(0.0, worker.latency_jitter)
    return {
        "status": "failed" if failed else "success",
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "cost_usd": round(worker.cost_usd(tokens_in, tokens_out), 6),
        "latency_ms": round(latency, 1),
    }
