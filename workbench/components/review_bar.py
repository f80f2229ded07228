"""Moving between logs and setting the open log's review status, with keyboard shortcuts and the
"save and next pending" flow."""

from __future__ import annotations

import streamlit as st

from orchestai_core.store import LogFilter, Store, StoreError
from workbench.components.flash import flash
from workbench.components.log_filters import ListOrder
from workbench.components.log_table import open_log
from workbench.components.text import md_escape
from workbench.services.curation import neighbour
from workbench.services.shortcuts import BY_ACTION, shortcut_help

NOTE_KEY = "review_note"
ADVANCE_KEY = "review_advance"


def _move(store: Store, log_id: str, flt: LogFilter, order: ListOrder, forward: bool, pending: bool) -> None:
    target = neighbour(store, log_id, flt, order.sort, order.descending, forward=forward, pending_only=pending)
    if target is None:
        flash("info", "No pending log left in this list." if pending else "No more logs in that direction.")
    else:
        open_log(target)


def _review(store: Store, log_id: str, status: str, annotator: str, flt: LogFilter, order: ListOrder) -> None:
    note = (st.session_state.get(NOTE_KEY) or "").strip() or None
    try:
        store.logs.set_review([log_id], status, annotator, note)
    except StoreError as exc:
        flash("error", md_escape(exc))
        return
    st.session_state[NOTE_KEY] = ""
    flash("success", f"Log {md_escape(log_id)} marked **{status.replace('_', ' ')}**.")
    if st.session_state.get(ADVANCE_KEY, True):
        _move(store, log_id, flt, order, forward=True, pending=True)


def _button(column, action: str, on_click, args: tuple, disabled: bool = False, primary: bool = False) -> None:
    shortcut = BY_ACTION[action]
    column.button(shortcut.label, key=f"act_{action}", shortcut=shortcut.key, on_click=on_click, args=args,
                  disabled=disabled, help=shortcut.meaning, type="primary" if primary else "secondary",
                  width="stretch")


def review_bar(store: Store, log_id: str, flt: LogFilter, order: ListOrder, annotator: str) -> None:
    """Navigation and review buttons for the open log."""
    cols = st.columns(6)
    _button(cols[0], "previous", _move, (store, log_id, flt, order, False, False))
    _button(cols[1], "next", _move, (store, log_id, flt, order, True, False))
    _button(cols[2], "next_pending", _move, (store, log_id, flt, order, True, True))
    for col, status in zip(cols[3:], ("accepted", "rejected", "needs_fix")):
        _button(col, status, _review, (store, log_id, status, annotator, flt, order), disabled=not annotator,
                primary=status == "accepted")
    note, advance = st.columns([4, 2])
    note.text_input("Review note (optional)", key=NOTE_KEY, placeholder="why, for the record")
    advance.toggle("Save and next pending", key=ADVANCE_KEY, value=True,
                   help="After a review, open the next pending log of the list.")
    if not annotator:
        st.caption("Enter your annotator name in the sidebar to review or edit.")
    with st.expander("Keyboard shortcuts", icon=":material/keyboard:"):
        st.markdown(shortcut_help() + "\n\nShortcuts work while no text field has focus.")
