"""Cost and latency a plan can expect per (sub-task type, worker), learned from the training logs.

Medians of what the logs measured; where a pair never ran, the worker's catalogue price and latency
for the type's median token counts; where the type is unknown, the median over all steps.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from orchestai_core.catalogue import Catalogue
from orchestai_core.examples import Example


@dataclass
class PlanStats:
    pair: dict[str, tuple[float, float]] = field(default_factory=dict)     # "type|worker" → (cost, latency)
    by_type: dict[str, tuple[float, float]] = field(default_factory=dict)  # type → (cost, latency)
    overall: tuple[float, float] = (0.0, 0.0)
    catalogue: dict = field(default_factory=dict)

    @classmethod
    def from_examples(cls, examples: list[Example], catalogue: Catalogue) -> PlanStats:
        pairs, types, every = defaultdict(list), defaultdict(list), []
        for e in examples:
            for t, w, c, lat in zip(e.types, e.workers, e.costs or [], e.latencies or []):
                if c is None or lat is None:
                    continue
                every.append((c, lat))
                types[t].append((c, lat))
                if w:
                    pairs[f"{t}|{w}"].append((c, lat))
        return cls({k: _median(v) for k, v in pairs.items()}, {k: _median(v) for k, v in types.items()},
                   _median(every) if every else (0.0, 0.0), catalogue.to_dict())

    def estimate(self, task_type: str, worker: str) -> tuple[float, float]:
        """(cost in USD, latency in ms) expected for `worker` running a sub-task of `task_type`."""
        key = f"{task_type}|{worker}"
        if key in self.pair:
            return self.pair[key]
        base_cost, base_latency = self.by_type.get(task_type, self.overall)
        for entry in self.catalogue.get("workers", []):
            if entry["name"] == worker:
                # scale the type's typical step by this worker's prices and speed relative to the mean worker
                mean_price, mean_speed = self._catalogue_means
                price = entry["price_in_per_1k"] + entry["price_out_per_1k"]
                price_ratio = price / max(mean_price, 1e-12)
                speed_ratio = entry["latency_base_ms"] / max(mean_speed, 1e-12)
                return base_cost * price_ratio, base_latency * speed_ratio
        return base_cost, base_latency

    @cached_property
    def _catalogue_means(self) -> tuple[float, float]:
        """The catalogue's mean price (in + out per 1k tokens) and mean base latency, worked out once: a planner
        asks `estimate` for every type and worker (6,000 pairs on UltraTool's 260 tools), which took a second."""
        workers = self.catalogue.get("workers", [])
        return (statistics.mean(w["price_in_per_1k"] + w["price_out_per_1k"] for w in workers),
                statistics.mean(w["latency_base_ms"] for w in workers))

    def to_dict(self) -> dict:
        return {"pair": self.pair, "by_type": self.by_type, "overall": self.overall, "catalogue": self.catalogue}

    @classmethod
    def from_dict(cls, data: dict) -> PlanStats:
        return cls({k: tuple(v) for k, v in data["pair"].items()}, {k: tuple(v) for k, v in data["by_type"].items()},
                   tuple(data["overall"]), data["catalogue"])


def _median(values: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)
