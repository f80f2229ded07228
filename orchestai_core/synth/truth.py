"""Ground truth of a synthetic log, recomputed from the log alone: what every worker would have achieved
on every step, and what the logging policy would have chosen.

The generator keeps each request's difficulty in `meta.difficulty` and its mode in `meta.mode`; with the
catalogue, that fixes the true success probability and expected cost of any (step, worker) and the logging
policy's distribution. Benchmarks and tests use it to score any worker-selection policy exactly.
"""

from __future__ import annotations

from orchestai_core.catalogue import Catalogue, load_catalogue
from orchestai_core.synth.policy import LoggingPolicy
from orchestai_core.synth.simulate import expected_cost_usd, success_probability

_DEFAULT: dict[str, Catalogue] = {}


def _catalogue(catalogue: Catalogue | None) -> Catalogue:
    if catalogue is not None:
        return catalogue
    if "default" not in _DEFAULT:
        _DEFAULT["default"] = load_catalogue()
    return _DEFAULT["default"]


def _difficulty(log: dict) -> float:
    try:
        return float(log["meta"]["difficulty"])
    except (KeyError, TypeError):
        raise ValueError(f"log {log.get('id')!r} has no meta.difficulty: not a synthetic log of this generator") \
            from None


def true_success(log: dict, subtask_index: int, worker_name: str, catalogue: Catalogue | None = None) -> float:
    """True probability that `worker_name` succeeds at the log's step `subtask_index` (its inputs given)."""
    worker = _catalogue(catalogue).get(worker_name)
    return success_probability(log["subtasks"][subtask_index]["type"], worker, _difficulty(log))


def expected_cost(log: dict, subtask_index: int, worker_name: str, catalogue: Catalogue | None = None) -> float:
    """Expected cost in USD of `worker_name` running the log's step `subtask_index`."""
    worker = _catalogue(catalogue).get(worker_name)
    return expected_cost_usd(log["subtasks"][subtask_index]["type"], worker, _difficulty(log))


def success_matrix(log: dict, catalogue: Catalogue | None = None) -> list[dict[str, float]]:
    """True success probability of every worker on every step: one {worker: p} per subtask, in order."""
    catalogue = _catalogue(catalogue)
    difficulty = _difficulty(log)
    return [{w.name: success_probability(task["type"], w, difficulty) for w in catalogue.workers}
            for task in log["subtasks"]]


def logging_distribution(log: dict, subtask_index: int, catalogue: Catalogue | None = None) -> dict[str, float]:
    """The logging policy's probability of each worker for the log's step `subtask_index` (sums to 1)."""
    policy = LoggingPolicy(_catalogue(catalogue))
    return dict(policy.distribution(log["subtasks"][subtask_index]["type"], log["meta"]["mode"]))
