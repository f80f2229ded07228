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
        summary=store.dataset_summary(),
        costs=store.column_values("total_cost_usd"),
        latencies_s=[v / 1000.0 for v in store.column_values("total_latency_ms")],
        subtask_counts=store.column_values("n_subtasks"),
        workers=[(w or "(none)", n) for w, n in store.facet("worker", limit=100)],
        templates=store.facet("template", limit=15),
    )
