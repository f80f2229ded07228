"""The annotator's name, asked once in the sidebar and remembered for the session on every page."""

from __future__ import annotations

import streamlit as st

KEY = "annotator"


def annotator_input() -> str:
    """The sidebar field; returns the name, '' until one is given (every change needs a name)."""
    name = st.sidebar.text_input("Annotator name", key=KEY, persist_state="session",
                                 placeholder="required to change anything",
                                 help="Recorded with every revision and review; kept for this session.")
    return (name or "").strip()
