"""The worker catalogue: the models a plan can assign, with prices, latency and per-task quality."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestai_core.config import read_yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "assets" / "workers.yaml"
_NUMBERS = ("price_in_per_1k", "price_out_per_1k", "latency_base_ms", "latency_per_1k_out_ms", "default_quality")
_FIELDS = {"name", "kind", "quality", "latency_jitter", *_NUMBERS}


@dataclass(frozen=True)
class Worker:
    """One worker model: what it costs, how fast it answers and how well it does each task type."""

    name: str
    kind: str
    price_in_per_1k: float
    price_out_per_1k: float
    latency_base_ms: float
    latency_per_1k_out_ms: float
    quality: Mapping[str, float] = field(default_factory=dict)
    default_quality: float = 0.5
    latency_jitter: float = 0.2  # spread (log-normal sigma) of measured latency around the profile

    def quality_for(self, task_type: str) -> float:
        """Quality (0..1) of this worker on `task_type`, falling back to `default_quality`."""
        return float(self.quality.get(task_type, self.default_quality))

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float:
        """Price of one call in USD from the per-1k-token prices."""
        return (tokens_in * self.price_in_per_1k + tokens_out * self.price_out_per_1k) / 1000.0

    def latency_ms(self, tokens_out: int) -> float:
        """Expected latency of one call (before jitter)."""
        return self.latency_base_ms + self.latency_per_1k_out_ms * tokens_out / 1000.0


@dataclass(frozen=True)
class Catalogue:
    """The workers a plan may assign; JSON-able so checkpoints can carry the catalogue they learned."""

    workers: tuple[Worker, ...]

    def names(self) -> list[str]:
        return [w.name for w in self.workers]

    def get(self, name: str) -> Worker:
        for worker in self.workers:
            if worker.name == name:
                return worker
        raise KeyError(f"unknown worker {name!r} (catalogue has {', '.join(self.names())})")

    def to_dict(self) -> dict:
        return {"workers": [{**w.__dict__, "quality": dict(w.quality)} for w in self.workers]}

    @classmethod
    def from_dict(cls, data: dict, source: str = "catalogue") -> Catalogue:
        if not isinstance(data, dict) or not isinstance(data.get("workers"), list) or not data["workers"]:
            raise ValueError(f"{source}: expected a non-empty 'workers' list")
        workers, seen = [], set()
        for i, entry in enumerate(data["workers"]):
            where = f"{source}: workers[{i}]"
            if not isinstance(entry, dict):
                raise ValueError(f"{where}: expected a mapping")
            unknown = sorted(set(map(str, entry)) - _FIELDS)
            if unknown:
                raise ValueError(f"{where}.{unknown[0]}: unknown field (expected {', '.join(sorted(_FIELDS))})")
            for key in ("name", "kind"):
                if not isinstance(entry.get(key), str) or not entry[key].strip():
                    raise ValueError(f"{where}.{key}: required non-empty string")
            if entry["name"] in seen:
                raise ValueError(f"{where}.name: duplicate worker {entry['name']!r}")
            seen.add(entry["name"])
            values = {}
            for key in _NUMBERS:
                value = entry.get(key)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"{where}.{key}: required number ≥ 0, got {value!r}")
                values[key] = float(value)
            quality = entry.get("quality") or {}
            if not isinstance(quality, dict) or not all(
                    isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
                    for k, v in quality.items()):
                raise ValueError(f"{where}.quality: expected a mapping of task type to a number in [0, 1]")
            if values["default_quality"] > 1:
                raise ValueError(f"{where}.default_quality: must be in [0, 1]")
            jitter = entry.get("latency_jitter", Worker.latency_jitter)
            if isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or not 0 <= jitter <= 2:
                raise ValueError(f"{where}.latency_jitter: expected a number in [0, 2], got {jitter!r}")
            workers.append(Worker(entry["name"], entry["kind"], quality={k: float(v) for k, v in quality.items()},
                                  latency_jitter=float(jitter), **values))
        return cls(tuple(workers))


def load_catalogue(path: str | os.PathLike | None = None) -> Catalogue:
    """Read a catalogue YAML file (default `assets/workers.yaml`); ValueError names file and field."""
    path = Path(path) if path is not None else DEFAULT_PATH
    return Catalogue.from_dict(read_yaml(path, "worker catalogue"), source=str(path))
