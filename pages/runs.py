"""Runs: the history of training runs, side-by-side comparison, checkpoints, and deleting runs."""

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from orchestai_core.checkpoints import best_index, find_checkpoints
from orchestai_core.config import load_config
from orchestai_core.evaluate import PLAN_METRICS
from workbench.components.flash import flash, show_flashes
from workbench.components.loss_chart import compare_figure
from workbench.services.run_history import config_diff, run_row
from workbench.services.store import get_store
from workbench.services.training import ACTIVE, LaunchError, delete_run, refresh_runs

PLANNER_CHECKPOINT = "planner_checkpoint"  # the Planner page's checkpoint selector

st.title("Runs")
store, config = get_store(), load_config()
show_flashes()
refresh_runs(store)
runs = {r["id"]: r for r in store.runs.list()}
metrics = {run_id: store.runs.metrics(run_id) for run_id in runs}

st.subheader("History")
if runs:
    st.dataframe(pd.DataFrame([run_row(r, metrics[r["id"]]) for r in runs.values()]), hide_index=True,
                 column_config={"duration_s": st.column_config.NumberColumn("duration (s)", format="%.0f"),
                                "best val loss": st.column_config.NumberColumn(format="%.4f"),
                                **{m: st.column_config.NumberColumn(format="%.3f") for m in PLAN_METRICS}},
                 key="runs_table")
else:
    st.info("No training run yet: start one on the Train page.")

st.subheader("Compare runs")
chosen = st.multiselect("Runs to compare", list(runs), default=list(runs)[:2] if len(runs) >= 2 else [],
                        format_func=lambda i: f"Run {i} · {runs[i]['status']}", key="runs_compare")
if len(chosen) >= 2:
    curves = {f"run {i}": metrics[i] for i in chosen}
    metric = st.selectbox("Metric", ["loss", *PLAN_METRICS, "types", "workers", "edges", "dag", "counts"],
                          key="runs_metric")
    st.plotly_chart(compare_figure(curves, metric, "val"), key="runs_compare_val")
    st.plotly_chart(compare_figure(curves, "loss", "train"), key="runs_compare_train")
    diff = config_diff({f"run {i}": runs[i]["config"] for i in chosen})
    st.markdown("**Settings that differ**")
    if diff:
        st.dataframe(pd.DataFrame(diff), hide_index=True, key="runs_config_diff")
    else:
        st.caption("The runs were launched with the same settings.")
elif runs:
    st.caption("Pick two or more runs to overlay their curves and compare their settings.")

st.subheader("Checkpoints")
checkpoints = find_checkpoints(config["paths"]["checkpoints"])
if not checkpoints:
    st.caption(f"No checkpoint under {config['paths']['checkpoints']} yet.")
else:
    st.dataframe(pd.DataFrame([{"checkpoint": c.label, "run": c.run_id, "kind": c.kind,
                                "size (MB)": round(c.size_bytes / 2**20, 2),
                                "written": datetime.fromtimestamp(c.modified, UTC).isoformat(timespec="seconds"),
                                "path": str(c.path)} for c in checkpoints]), hide_index=True, key="runs_checkpoints")
    by_path = {str(c.path): c for c in checkpoints}
    picked = st.selectbox("Checkpoint", list(by_path), index=best_index(checkpoints) or 0,  # the newest best,
                          format_func=lambda p: by_path[p].label, key="runs_checkpoint")  # not the last saved
    if st.button("Use in planner", key="runs_use_in_planner"):
        st.session_state[PLANNER_CHECKPOINT] = picked
        st.switch_page("../pages/planner.py")  # relative to the entry script, workbench/app.py

st.subheader("Delete a run")
ended = [i for i, r in runs.items() if r["status"] not in ACTIVE]
if not ended:
    st.caption("Only runs that have ended can be deleted." if runs else "There is no run to delete.")
else:
    doomed = st.selectbox("Run to delete", ended, format_func=lambda i: f"Run {i} · {runs[i]['status']}",
                          key="runs_delete_pick")
    sure = st.checkbox(f"Delete run {doomed}, its metrics and its checkpoint files for good", key="runs_delete_sure")
    if st.button("Delete run", type="primary", disabled=not sure, key="runs_delete"):
        try:
            removed = delete_run(store, config, doomed)
            flash("success", f"Run {doomed} deleted ({len(removed)} folder(s) removed).")
        except LaunchError as exc:
            flash("error", str(exc))
        st.session_state.pop("runs_delete_sure", None)
        st.rerun()
