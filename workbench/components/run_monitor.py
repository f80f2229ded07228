"""The live monitor of one training run: progress, pace, loss curves, validation metrics, log tail,
and the Stop / Resume buttons. While the run is active only this fragment refreshes, every
REFRESH_S seconds, so inputs elsewhere on the page are left alone."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from orchestai_core.checkpoints import LAST
from orchestai_core.model.consensus import ConsensusSettings, fitted_figures
from orchestai_core.model.ordering import fitted_order
from orchestai_core.store import Store
from workbench.components.flash import flash
from workbench.components.loss_chart import components_figure, loss_figure, val_metrics_figure
from workbench.components.text import md_escape
from workbench.services.run_progress import format_seconds, progress
from workbench.services.training import ACTIVE, LaunchError, log_tail, refresh_runs, resume_run, stop_run

REFRESH_S = 2.0
STATUS_ICON = {"queued": ":material/schedule:", "running": ":material/directions_run:",
               "completed": ":material/check_circle:", "failed": ":material/error:",
               "stopped": ":material/stop_circle:", "crashed": ":material/report:"}


def _header(run: dict) -> None:
    st.subheader(f"{STATUS_ICON.get(run['status'], '')} Run {run['id']} · {run['status']}")
    where = [f"device {run['device']}" if run.get("device") else None, f"pid {run['pid']}" if run.get("pid") else None,
             f"{run['data_size']} logs" if run.get("data_size") else None, f"started {run['started_at']}"
             if run.get("started_at") else f"queued {run['created_at']}"]
    summary = run.get("summary") or {}
    if summary.get("stopped_early"):
        where.append(f"ended early after epoch {summary['epochs']}: the validation loss had stopped improving")
    st.caption(" · ".join(w for w in where if w))
    fitted = summary.get("consensus")
    if fitted:  # what the fit at the end of training kept, and what it planned validation with
        settings = ConsensusSettings.from_dict(fitted)
        figures = fitted_figures(fitted.get("validation") or {}, settings)
        st.caption(f"Consensus decoding fitted on validation: {md_escape(settings.describe())}"
                   + (f"; {figures}" if figures else ""))
        order = fitted.get("order")
        if order:
            st.caption("Step order fitted on validation: "
                       + md_escape(fitted_order(order.get("weight"), order.get("validation") or {})))


def _figures(run: dict, metrics: list[dict]) -> None:
    p = progress(run, metrics)
    st.progress(p.epoch_fraction, text=f"Epoch {p.epoch} of {p.total_epochs or '?'}")
    st.progress(p.step_fraction, text=f"Step {p.step} of {p.total_steps or '?'}")
    cols = st.columns(6 if p.gpu_memory_mb is not None else 5)
    cols[0].metric("Training time", format_seconds(p.trained_s))
    cols[1].metric("ETA (estimate)", format_seconds(p.eta_s) if run["status"] in ACTIVE else "—",
                   help="From the pace so far; validation and checkpoints included")
    cols[2].metric("Examples/s", f"{p.examples_per_s:,.0f}" if p.examples_per_s else "—")
    cols[3].metric("Best epoch", "—" if p.best_epoch is None else str(p.best_epoch))
    cols[4].metric("Best val loss", "—" if p.best_val_loss is None else f"{p.best_val_loss:.4f}")
    if p.gpu_memory_mb is not None:
        cols[5].metric("GPU memory (peak)", f"{p.gpu_memory_mb:,.0f} MiB")


def _charts(run_id: int, metrics: list[dict]) -> None:
    c1, c2, c3 = st.columns([2, 1, 3])
    x_axis = c1.radio("x-axis", ["step", "wall"], format_func={"step": "step", "wall": "training time"}.get,
                      horizontal=True, key=f"monitor_x_{run_id}")
    log_y = c2.toggle("Log scale", value=True, key=f"monitor_log_{run_id}",
                      help="Losses on a logarithmic axis: early spikes and late small changes both stay readable")
    smoothing = c3.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key=f"monitor_smooth_{run_id}",
                          help="Exponential moving average of the training curves (validation is shown raw)")
    st.plotly_chart(loss_figure(metrics, smoothing, x_axis, log_y), key=f"loss_{run_id}")
    st.plotly_chart(components_figure(metrics, smoothing, x_axis, log_y), key=f"components_{run_id}")
    st.plotly_chart(val_metrics_figure(metrics), key=f"val_{run_id}")


def _controls(store: Store, run: dict) -> None:
    if run["status"] in ACTIVE:
        if st.button("Stop", key=f"stop_{run['id']}", help="SIGTERM: finishes the step, saves last.pth"):
            with st.spinner(f"Stopping run {run['id']}…"):
                status = stop_run(store, run["id"])
            flash("success", f"Run {run['id']} is {status}.")
            st.rerun(scope="app")
    elif run["status"] in ("stopped", "crashed") and run.get("out_dir") and (Path(run["out_dir"]) / LAST).is_file():
        if st.button("Resume", key=f"resume_{run['id']}", help=f"Continue from {LAST} as the same run"):
            try:
                resume_run(store, run["id"])
                flash("success", f"Run {run['id']} resumed.")
            except LaunchError as exc:
                flash("error", str(exc))
            st.rerun(scope="app")


def _monitor(store: Store, run_id: int, live: bool) -> None:
    refresh_runs(store)
    run = store.runs.get(run_id)
    if live and run["status"] not in ACTIVE:
        st.rerun(scope="app")  # it just ended: redraw the page without the refresh
    metrics = store.runs.metrics(run_id)
    _header(run)
    _controls(store, run)
    for warning in run.get("warnings") or []:  # data the model could not take whole
        st.warning(md_escape(warning), icon=":material/content_cut:")
    if run["status"] in ("failed", "crashed") and run.get("error"):
        st.error(f"Run {run_id} {run['status']}. The end of its log:")
        st.code(run["error"], language=None)
    _figures(run, metrics)
    _charts(run_id, metrics)
    st.markdown("**Log (last lines)**")
    st.code(log_tail(run) or "(nothing logged yet)", language=None)


@st.fragment(run_every=REFRESH_S)
def _live(store: Store, run_id: int) -> None:
    _monitor(store, run_id, live=True)


@st.fragment
def _still(store: Store, run_id: int) -> None:
    _monitor(store, run_id, live=False)


def run_monitor(store: Store, run_id: int) -> None:
    """The monitor of a run: refreshing by itself while the run is queued or running."""
    active = store.runs.get(run_id)["status"] in ACTIVE
    (_live if active else _still)(store, run_id)
