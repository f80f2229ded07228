"""Plotly figures used on several pages."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go


def histogram(values: Sequence[float], title: str, x_label: str, bins: int = 40) -> go.Figure:
    fig = go.Figure(go.Histogram(x=list(values), nbinsx=bins, marker_color="#4c78a8"))
    fig.update_layout(title=title, xaxis_title=x_label, yaxis_title="logs", height=300,
                      margin=dict(l=40, r=10, t=40, b=40), bargap=0.05)
    return fig


def bar(pairs: Sequence[tuple[str, int]], title: str, y_label: str) -> go.Figure:
    labels = [str(p[0]) for p in pairs]
    fig = go.Figure(go.Bar(x=[p[1] for p in pairs], y=labels, orientation="h", marker_color="#72b7b2"))
    fig.update_layout(title=title, xaxis_title=y_label, height=max(260, 22 * len(pairs) + 80),
                      margin=dict(l=10, r=10, t=40, b=40), yaxis=dict(autorange="reversed"))
    return fig
