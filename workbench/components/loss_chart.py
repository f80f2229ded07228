"""Plotly figures of training runs: loss curves (raw and smoothed), loss components, validation
metrics, and several runs overlaid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from orchestai_core.evaluate import PLAN_METRICS
from workbench.services.run_progress import LOSS_COMPONENTS, series, smooth

X_AXES = {"step": "step", "wall": "wall_time"}
X_TITLES = {"step": "step", "wall": "training time (s)"}
TRAIN, VAL = "#4c78a8", "#f58518"
METRIC_COLOURS = ("#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d")
LAYOUT = dict(margin=dict(l=40, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.25), hovermode="x unified")


def _xy(rows: Sequence[dict], x_axis: str) -> tuple[list[float], list[float]]:
    return [r[X_AXES[x_axis]] for r in rows], [r["value"] for r in rows]


def _add_curve(fig: go.Figure, metrics: Sequence[dict], name: str, smoothing: float, x_axis: str,
               row: int | None = None, col: int | None = None, legend: bool = True) -> None:
    """Train (raw, faint; smoothed, solid) and validation (markers per epoch) of one loss."""
    where = {"row": row, "col": col} if row else {}
    x, y = _xy(series(metrics, "train", name), x_axis)
    if x:
        fig.add_trace(go.Scatter(x=x, y=y, name="train (raw)", mode="lines", line=dict(color=TRAIN, width=1),
                                 opacity=0.3, showlegend=legend, legendgroup="raw"), **where)
        fig.add_trace(go.Scatter(x=x, y=smooth(y, smoothing), name="train (smoothed)", mode="lines",
                                 line=dict(color=TRAIN, width=2), showlegend=legend, legendgroup="smooth"), **where)
    vx, vy = _xy(series(metrics, "val", name), x_axis)
    if vx:
        fig.add_trace(go.Scatter(x=vx, y=vy, name="validation", mode="lines+markers", line=dict(color=VAL, width=2),
                                 showlegend=legend, legendgroup="val"), **where)


def _y_scale(log_y: bool) -> str:
    """Losses span decades between the first steps and the last epochs: a log axis keeps both readable."""
    return "log" if log_y else "linear"


def loss_figure(metrics: Sequence[dict], smoothing: float = 0.6, x_axis: str = "step",
                log_y: bool = True) -> go.Figure:
    """The total loss L = L_CE + λ·L_DAG, train and validation."""
    fig = go.Figure()
    _add_curve(fig, metrics, "loss", smoothing, x_axis)
    fig.update_layout(title="Total loss", xaxis_title=X_TITLES[x_axis], yaxis_title="loss", height=340, **LAYOUT)
    fig.update_yaxes(type=_y_scale(log_y))
    return fig


def components_figure(metrics: Sequence[dict], smoothing: float = 0.6, x_axis: str = "step",
                      log_y: bool = True) -> go.Figure:
    """Each loss component in its own panel, four a row: types, workers, edges, DAG penalty, the auxiliary
    counts, and the outcome model's success, log-cost and log-latency losses."""
    names = LOSS_COMPONENTS[1:]
    cols = 4
    rows = -(-len(names) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"{n}" for n in names])
    for k, name in enumerate(names):
        _add_curve(fig, metrics, name, smoothing, x_axis, row=k // cols + 1, col=k % cols + 1, legend=k == 0)
    fig.update_layout(title="Loss components", height=300 * rows, **LAYOUT)
    fig.update_xaxes(title_text=X_TITLES[x_axis])
    fig.update_yaxes(type=_y_scale(log_y))
    return fig


def val_metrics_figure(metrics: Sequence[dict]) -> go.Figure:
    """Plan metrics on the validation logs, per epoch."""
    fig = go.Figure()
    for name, colour in zip(PLAN_METRICS, METRIC_COLOURS):
        rows = series(metrics, "val", name)
        fig.add_trace(go.Scatter(x=[r["epoch"] for r in rows], y=[r["value"] for r in rows], name=name,
                                 mode="lines+markers", line=dict(color=colour)))
    fig.update_layout(title="Validation plan metrics (greedy decoding)", xaxis_title="epoch",
                      yaxis=dict(range=[0, 1.02]), height=320, **LAYOUT)
    return fig


def compare_figure(runs: Mapping[str, Sequence[dict]], name: str = "loss", split: str = "val",
                   log_y: bool | None = None) -> go.Figure:
    """One curve per run (label → metric rows) of the same metric, by epoch for validation, else by step;
    losses on a log axis by default, plan metrics (0 to 1) on a linear one."""
    fig = go.Figure()
    x_key = "epoch" if split == "val" else "step"
    for label, metrics in runs.items():
        rows = series(metrics, split, name)
        fig.add_trace(go.Scatter(x=[r[x_key] for r in rows], y=[r["value"] for r in rows], name=label,
                                 mode="lines+markers" if split == "val" else "lines"))
    fig.update_layout(title=f"{split} {name}", xaxis_title=x_key, yaxis_title=name, height=340, **LAYOUT)
    fig.update_yaxes(type=_y_scale(name in LOSS_COMPONENTS if log_y is None else log_y))
    return fig
