"""One-shot messages that survive the rerun after an action (saved, reviewed, conflict…)."""

from __future__ import annotations

import streamlit as st

KEY = "flash_messages"


def flash(kind: str, text: str) -> None:
    """Queue a message ('success', 'info', 'warning' or 'error') for the next run of the page."""
    st.session_state.setdefault(KEY, []).append((kind, text))


def show_flashes() -> None:
    """Successes pop up as toasts (seen wherever the annotator is scrolled); the rest stay in the page."""
    for kind, text in st.session_state.pop(KEY, []):
        if kind == "success":
            st.toast(text, icon=":material/check_circle:")
        else:
            getattr(st, kind)(text)
