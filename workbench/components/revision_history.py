"""A log's history: every revision with who, when, why and what changed field by field (both values
in full, wrapped), restorable as a new revision; and the review decisions taken on it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from orchestai_core.store import StaleRevisionError, Store, StoreError
from workbench.components.flash import flash
from workbench.components.log_editor import BASES_KEY
from workbench.components.text import md_escape

ABSENT = "(absent)"


@dataclass(frozen=True)
class FieldChange:
    """A field that differs between two revisions (`instruction`, `s2.worker`, `subtask s5`…), each
    value as JSON text in full, or ABSENT."""

    field: str
    before: str
    after: str


def _json(value: Any) -> str:
    return ABSENT if value is None else json.dumps(value, ensure_ascii=False)


def field_changes(old: dict, new: dict) -> list[FieldChange]:
    """Every field that changed from `old` to `new`: top-level fields, then removed, added and edited
    subtasks, then the order of the subtasks both keep."""
    changes = [FieldChange(key, _json(old.get(key)), _json(new.get(key)))
               for key in sorted((set(old) | set(new)) - {"subtasks"}) if old.get(key) != new.get(key)]
    before = {t["id"]: t for t in old["subtasks"]}
    after = {t["id"]: t for t in new["subtasks"]}
    changes += [FieldChange(f"subtask {i}", _json(t), ABSENT) for i, t in before.items() if i not in after]
    changes += [FieldChange(f"subtask {i}", ABSENT, _json(t)) for i, t in after.items() if i not in before]
    for task_id, task in after.items():
        previous = before.get(task_id)
        if previous is not None:
            changes += [FieldChange(f"{task_id}.{key}", _json(previous.get(key)), _json(task.get(key)))
                        for key in sorted((set(previous) | set(task)) - {"id"}) if previous.get(key) != task.get(key)]
    kept_before, kept_after = [i for i in before if i in after], [i for i in after if i in before]
    if kept_before != kept_after:
        changes.append(FieldChange("subtask order", ", ".join(kept_before), ", ".join(kept_after)))
    return changes


def _show_changes(old: dict | None, new: dict) -> None:
    if old is None:
        st.caption(f"First revision: {len(new['subtasks'])} subtasks.")
        return
    changes = field_changes(old, new)
    if not changes:
        st.caption("No change in content.")
        return
    for change in changes:
        st.markdown(f"**{md_escape(change.field)}**")
        before, after = st.columns(2)
        before.code(f"before: {change.before}", language=None, wrap_lines=True)
        after.code(f"after: {change.after}", language=None, wrap_lines=True)


def _restore(store: Store, log_id: str, revision: int, annotator: str, current: int) -> None:
    try:
        new = store.logs.restore_revision(log_id, revision, annotator, base_revision=current)
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
    revisions = store.logs.revisions(log_id)
    contents = [json.loads(rev["content"]) for rev in revisions]
    for index in reversed(range(len(revisions))):
        rev = revisions[index]
        number = rev["revision"]
        note = f" · {md_escape(rev['note'])}" if rev["note"] else ""
        label = f"Revision {number} · {md_escape(rev['author'])} · {md_escape(rev['created_at'])}{note}"
        with st.expander(label + (" (latest)" if number == current else ""), expanded=number == current):
            _show_changes(contents[index - 1] if index else None, contents[index])
            if number != current:
                st.button(f"Restore revision {number}", key=f"restore-{number}", disabled=not annotator,
                          on_click=_restore, args=(store, log_id, number, annotator, current),
                          help="Saves this content again as a new latest revision.")
    reviews = store.logs.review_history(log_id)
    if reviews:
        st.markdown("**Review decisions**")
        st.dataframe(pd.DataFrame(reviews)[["at", "status", "annotator", "note", "revision"]], hide_index=True)
