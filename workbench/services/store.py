"""The store the workbench works on, opened once per database path and shared by all sessions."""

from __future__ import annotations

import streamlit as st

from orchestai_core.config import load_config, resolve_db_path
from orchestai_core.store import Store


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Store:
    return Store.open(path)


def get_store() -> Store:
    """The store named by env ORCHESTAI_DB, else by config.yaml."""
    return _open(str(resolve_db_path(None, load_config())))
