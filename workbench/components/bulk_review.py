"""Setting the review status of every log matching the current filter, after showing the count and
asking for confirmation."""

from __future__ import annotations

import streamlit as st

from orchestai_core.store import REVIEW_STATUSES, LogFilter, Store
from workbench.components.flash import flash
from workbench.services.curation import filter_signature

PENDING_KEY = "bulk_pending"


def bulk_review(store: Store, flt: LogFilter, annotator: str) -> None:
    """The bulk panel: choose a status, see how many logs it touches, confirm."""
    signature = filter_signature(flt, "", False)
    count = store.logs.count(flt)
    st.write(f"**{count:,}** logs match the current filter.")
    left, right = st.columns([1, 2])
    status = left.selectbox("New review status", REVIEW_STATUSES, key="bulk_status",
                            format_func=lambda s: s.replace("_", " "))
    note = right.text_input("Note for every one of them", key="bulk_note")
    if st.button(f"Set all {count:,} to {status.replace('_', ' ')}…", key="bulk_ask",
                 disabled=not annotator or count == 0,
                 help=None if annotator else "enter your annotator name in the sidebar"):
        st.session_state[PENDING_KEY] = {"signature": signature, "status": status, "count": count}
    pending = st.session_state.get(PENDING_KEY)
    if not pending or pending["signature"] != signature or pending["status"] != status:
        st.session_state.pop(PENDING_KEY, None)
        return
    st.warning(f"Change the review status of **{pending['count']:,}** logs to **{status}**? "
               "Each change is recorded in the logs' review history.")
    yes, no, _ = st.columns([1, 1, 3])
    if yes.button("Confirm", key="bulk_confirm", type="primary"):
        ids = store.logs.ids(flt)
        if len(ids) != pending["count"]:
            pending["count"] = len(ids)
            flash("warning", f"The filter now matches {len(ids):,} logs; check the count and confirm again.")
        else:
            changed = store.logs.set_review(ids, status, annotator, note.strip() or None)
            st.session_state.pop(PENDING_KEY)
            flash("success", f"Set {changed:,} logs to **{status.replace('_', ' ')}**.")
        st.rerun()
    if no.button("Cancel", key="bulk_cancel"):
        st.session_state.pop(PENDING_KEY)
        st.rerun()
