"""Execution timeline of a workflow: a plotly Gantt where each step starts when its dependencies end
and lasts its latency, with the critical path highlighted."""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

from orchestai_core.dag import critical_path, start_times, topological_order

CRITICAL = "#ff7f0e"  # as the DAG's critical-path edges
OTHER = "#7fa7cf"


def timeline_figure(subtasks: Sequence[dict]) -> go.Figure | None:
    """The Gantt figure, or None when no step has a measured latency. Log text is HTML-escaped
    because plotly reads a few tags in labels."""
    if not any(t.get("latency_ms") is not None for t in subtasks):
        return None
    starts = start_times(subtasks)
    path = set(critical_path(subtasks)[0])
    order = topological_order(subtasks)
    fig = go.Figure()
    for on_path, name, colour in ((True, "critical path", CRITICAL), (False, "other steps", OTHER)):
        rows = [i for i in order if (subtasks[i]["id"] in path) == on_path]
        if not rows:
            continue
        fig.add_trace(go.Bar(
            orientation="h", name=name, marker_color=colour,
            base=[starts[i] for i in rows],
            x=[float(subtasks[i].get("latency_ms") or 0.0) for i in rows],
            y=[step_label(subtasks[i]) for i in rows],
            customdata=[[html.escape(str(subtasks[i].get("worker") or "(none)")),
                         html.escape(str(subtasks[i].get("status") or "—"))] for i in rows],
            hovertemplate="%{y}<br>start %{base:,.0f} ms · latency %{x:,.0f} ms"
                          "<br>worker %{customdata[0]} · %{customdata[1]}<extra></extra>",
        ))
    fig.update_layout(
        barmode="overlay", height=110 + 28 * len(subtasks), margin=dict(l=10, r=10, t=40, b=40),
        xaxis_title="ms from start", legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"),
        yaxis=dict(categoryorder="array", categoryarray=[step_label(subtasks[i]) for i in order],
                   autorange="reversed"),
    )
    return fig


def step_label(task: dict) -> str:
    return html.escape(f"{task['id']} · {task.get('type')}")
