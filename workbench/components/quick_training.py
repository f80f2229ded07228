"""Offer a quick training run where no checkpoint exists yet, and open the page once one is written."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from orchestai_core.checkpoints import find_checkpoints
from orchestai_core.store import Store, StoreError
from workbench.components.text import md_escape

KEY = "quick_run_id"
ENDED = ("failed", "stopped", "crashed")


def quick_training(store: Store, config: dict) -> None:
    """One button that starts a short run of `orchestai train` on the current logs (the Train page's launcher)."""
    if st.session_state.get(KEY) is None:
        if not st.button("Start a quick training run", key="quick_train", type="primary",
                         icon=":material/rocket_launch:",
                         help="A few epochs on the logs in the store that are not rejected."):
            return
        from workbench.services.training import LaunchError, launch_quick_run

        try:
            st.session_state[KEY] = launch_quick_run(store, config)
        except LaunchError as exc:
            st.error(md_escape(exc))
            return
    _follow_run(store, Path(config["paths"]["checkpoints"]), st.session_state[KEY])


@st.fragment(run_every=3)
def _follow_run(store: Store, root: Path, run_id: int) -> None:
    """Show the run's progress; rerun the page as soon as its first checkpoint exists."""
    from workbench.services.training import refresh_runs

    if find_checkpoints(root):
        st.rerun()
    refresh_runs(store)  # a run whose process died is marked crashed
    try:
        run = store.runs.get(run_id)
    except StoreError:
        st.warning(f"Training run {run_id} is not in the store any more.")
        return
    if run["status"] in ENDED:
        reason = (run.get("error") or "see the Runs page").splitlines()[0]
        st.error(f"Training run {run_id} {run['status']}: {md_escape(reason)}")
        st.session_state.pop(KEY, None)
        return
    epoch, total = run.get("epoch") or 0, run.get("total_epochs")
    st.info(f"Training run {run_id} is {run['status']}" + (f" (epoch {epoch} of {total})" if total else "")
            + "; the planner opens here as soon as it writes its first checkpoint.")
