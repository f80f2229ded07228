"""Choosing a planner checkpoint: newest first, the newest best-validation one preselected."""

from __future__ import annotations

import streamlit as st

from orchestai_core.checkpoints import CheckpointFile
from workbench.services.planning import default_checkpoint


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
