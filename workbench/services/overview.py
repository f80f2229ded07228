"""Figures of the whole dataset for the Home page."""

from __future__ import annotations

from dataclasses import dataclass

from orchestai_core.store import Store


@dataclass
class Overview:
    summary: dict
    costs: list[float]
    latencies_s: list[float]
    subtask_counts: list[int]
    workers: list[tuple[str, int]]
    templates: list[tuple[str, int]]


def dataset_overview(store: Store) -> Overview:
    return Overview(
        summary=store.logs.summary(),
        costs=store.logs.column_values("total_cost_usd"),
        latencies_s=[v / 1000.0 for v in store.logs.column_values("total_latency_ms")],
        subtask_counts=store.logs.column_values("n_subtasks"),
        workers=[(w or "(none)", n) for w, n in store.logs.facet("worker", limit=100)],
        templates=store.logs.facet("template", limit=15),
    )
