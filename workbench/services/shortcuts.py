"""The Logs page's keyboard shortcuts: one table used both for the buttons and for their documentation.

Streamlit binds them natively (`st.button(shortcut=...)`); they do nothing while a text field has focus.
`C` and `R` are reserved by Streamlit, hence `X` for reject.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    action: str
    key: str
    label: str
    meaning: str


SHORTCUTS = (
    Shortcut("previous", "K", "◀ Previous", "open the previous log of the list"),
    Shortcut("next", "J", "Next ▶", "open the next log of the list"),
    Shortcut("next_pending", "N", "Next pending :material/skip_next:", "open the next pending log of the list"),
    Shortcut("accepted", "A", "Accept", "mark the open log accepted"),
    Shortcut("rejected", "X", "Reject", "mark the open log rejected"),
    Shortcut("needs_fix", "F", "Needs fix", "mark the open log as needing a fix"),
)
BY_ACTION = {s.action: s for s in SHORTCUTS}


def shortcut_help() -> str:
    """A Markdown table documenting every shortcut."""
    rows = [f"| `{s.key}` | {s.label} | {s.meaning} |" for s in SHORTCUTS]
    return "\n".join(["| key | button | does |", "|---|---|---|", *rows])
