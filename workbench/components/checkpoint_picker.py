"""Choosing a planner checkpoint: newest first, the newest best-validation one preselected; what a page
that needs one says when there is none yet."""

from __future__ import annotations

import streamlit as st

from orchestai_core.checkpoints import CheckpointFile
from orchestai_core.store import Store
from workbench.components.quick_training import quick_training
from workbench.components.text import md_escape
from workbench.services.planning import checkpoint_root, default_checkpoint, list_checkpoints


def checkpoints_or_stop(config: dict, store: Store, what: str = "",
                        quick_run_here: bool = False) -> list[CheckpointFile]:
    """Every checkpoint a page can use; when there is none, say so (`what` the page would do with one),
    offer a quick training run (here, or on the Planner page) and stop the page."""
    checkpoints = list_checkpoints(config)
    if checkpoints:
        return checkpoints
    where = "(a few epochs on the current logs) here" if quick_run_here else "on the Planner page"
    st.info(f"There is no planner checkpoint in {md_escape(checkpoint_root(config))} {what}yet: train one on the "
            f"Train page, or start a quick run {where}.")
    if quick_run_here:
        quick_training(store, config)
    st.stop()


def checkpoint_picker(checkpoints: list[CheckpointFile], key: str, label: str = "Checkpoint",
                      default: int | None = None) -> CheckpointFile:
    """A selectbox over the checkpoint files (by run, kind and time; the path in the help)."""
    by_path = {str(c.path): c for c in checkpoints}
    paths = list(by_path)
    if st.session_state.get(key) not in by_path:
        st.session_state.pop(key, None)  # the file it named is gone: back to the default
    index = default_checkpoint(checkpoints) if default is None else default
    chosen = st.selectbox(label, paths, index=index, key=key, format_func=lambda p: by_path[p].label,
                          help="Checkpoints under `paths.checkpoints` of the config, newest first.")
    return by_path[chosen]
