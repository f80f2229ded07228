"""A log's history: every revision with who, when, why and a readable diff, restorable as a new
revision; and the review decisions taken on it."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from orchestai_core.store import StaleRevisionError, Store, StoreError
from workbench.components.flash import flash
from workbench.components.log_editor import BASES_KEY
from workbench.components.text import md_escape
from workbench.services.curation import revision_diff


def _restore(store: Store, log_id: str, revision: int, annotator: str, current: int) -> None:
    try:
        new = store.restore_revision(log_id, revision, annotator, base_revision=current)
    except StaleRevisionError as exc:
        flash("warning", f"Not restored: {md_escape(exc)}. Look at the latest revision first.")
        return
    except StoreError as exc:
        flash("error", md_escape(exc))
        return
    st.session_state.setdefault(BASES_KEY, {})[log_id] = new
    flash("success", f"Restored revision {revision} of log {md_escape(log_id)} as revision {new}.")


def revision_history(store: Store, log_id: str, current: int, annotator: str) -> None:
    """Newest revision first; older ones can be restored (which adds a revision, nothing is overwritten)."""
    revisions = store.revisions(log_id)
    previous = None
    entries = []
    for rev in revisions:
        content = json.loads(rev["content"])
        entries.append((rev, revision_diff(previous, content)))
        previous = content
    for rev, diff in reversed(entries):
        number = rev["revision"]
        note = f" · {md_escape(rev['note'])}" if rev["note"] else ""
        label = f"Revision {number} · {md_escape(rev['author'])} · {md_escape(rev['created_at'])}{note}"
        with st.expander(label + (" (latest)" if number == current else ""), expanded=number == current):
            st.code("\n".join(diff), language=None)
            if number != current:
                st.button(f"Restore revision {number}", key=f"restore-{number}", disabled=not annotator,
                          on_click=_restore, args=(store, log_id, number, annotator, current),
                          help="Saves this content again as a new latest revision.")
    reviews = store.review_history(log_id)
    if reviews:
        st.markdown("**Review decisions**")
        st.dataframe(pd.DataFrame(reviews)[["at", "status", "annotator", "note", "revision"]], hide_index=True)
