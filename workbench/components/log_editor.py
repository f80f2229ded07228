"""Editing a log: instruction and subtask table with live validation, saved as a new revision; a save
over someone else's newer revision is stopped and the annotator chooses what happens."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from orchestai_core.schema import SUBTASK_STATUSES, canonical_json
from orchestai_core.store import LogFilter, StaleRevisionError, Store, StoreError
from workbench.components.flash import flash
from workbench.components.text import md_escape
from workbench.services.curation import (
    EDIT_COLUMNS,
    choice_prob_warnings,
    edit_problems,
    log_from_table,
    revision_diff,
    subtasks_table,
    worker_facet,
)

BASES_KEY = "edit_base"          # log id -> revision the open editor started from
CONFLICTS_KEY = "edit_conflict"  # log id -> the refused save, waiting for the annotator's choice


def editor_frame(subtasks: Sequence[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(subtasks_table(subtasks), columns=list(EDIT_COLUMNS))
    for name in ("id", "type", "description", "worker", "depends_on", "status"):
        frame[name] = frame[name].astype(object)
    for name in ("choice_prob", "cost_usd", "latency_ms"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    for name in ("tokens_in", "tokens_out"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
    return frame


def frame_rows(frame: pd.DataFrame) -> list[dict]:
    """Editor rows as plain Python values, blanks as None."""
    plain = frame.astype(object).where(frame.notna(), None)
    return plain.to_dict("records")


def _column_config(workers: Sequence[str]) -> dict:
    cc = st.column_config
    return {
        "id": cc.TextColumn("id", required=True, help="unique within the log"),
        "type": cc.TextColumn("type", required=True),
        "description": cc.TextColumn("description", width="large"),
        "worker": cc.SelectboxColumn("worker", options=list(workers)),
        "choice_prob": cc.NumberColumn("choice prob", min_value=0.0, max_value=1.0,
                                       help="probability with which the system chose this worker, in (0, 1]; "
                                            "blank when not recorded"),
        "depends_on": cc.TextColumn("depends on", help="ids of the subtasks whose output it needs, comma-separated"),
        "status": cc.SelectboxColumn("status", options=list(SUBTASK_STATUSES)),
        "cost_usd": cc.NumberColumn("cost $", min_value=0.0, format="%.5f"),
        "latency_ms": cc.NumberColumn("latency ms", min_value=0.0),
        "tokens_in": cc.NumberColumn("tokens in", min_value=0, step=1),
        "tokens_out": cc.NumberColumn("tokens out", min_value=0, step=1),
    }


def _save(store: Store, log: dict, annotator: str, note: str | None, base: int) -> None:
    log_id = log["id"]
    try:
        revision = store.logs.save_revision(log, annotator, note, base_revision=base)
    except StaleRevisionError as exc:
        st.session_state.setdefault(CONFLICTS_KEY, {})[log_id] = {"mine": log, "note": note, "base": base,
                                                                   "reason": str(exc)}
        return
    except StoreError as exc:
        flash("error", md_escape(exc))
        return
    st.session_state[BASES_KEY][log_id] = revision
    st.session_state.get(CONFLICTS_KEY, {}).pop(log_id, None)
    flash("success", f"Saved log {md_escape(log_id)} as revision {revision}.")


def _load_latest(log_id: str, revision: int) -> None:
    st.session_state[BASES_KEY][log_id] = revision
    st.session_state.get(CONFLICTS_KEY, {}).pop(log_id, None)


def _conflict(store: Store, log_id: str, current: int, annotator: str) -> None:
    """The refused save: what the other annotator changed, what you changed, and the two ways on."""
    conflict = st.session_state.get(CONFLICTS_KEY, {}).get(log_id)
    if conflict is None:
        return
    base = store.logs.get(log_id, conflict["base"])
    st.warning(f"Not saved: {md_escape(conflict['reason'])}. Your edits are kept below; choose how to go on.")
    theirs, mine = st.columns(2)
    theirs.markdown(f"**Their changes** (revision {conflict['base']} → {current})")
    theirs.code("\n".join(revision_diff(base, store.logs.get(log_id))), language=None)
    mine.markdown(f"**Your changes** (from revision {conflict['base']})")
    mine.code("\n".join(revision_diff(base, conflict["mine"])), language=None)
    note = f"{conflict['note'] or 'edit'} (saved over revision {current})"
    left, right = st.columns(2)
    if left.button(f"Save mine as a new revision over {current}", key="conflict_keep_mine", disabled=not annotator,
                   help="Their revision stays in the history; yours becomes the latest."):
        _save(store, conflict["mine"], annotator, note, current)
        st.rerun()
    if right.button(f"Drop my edits and load revision {current}", key="conflict_load_latest"):
        _load_latest(log_id, current)
        st.rerun()


def _untouched(editor_key: str, instruction_key: str, base: dict) -> bool:
    edits = st.session_state.get(editor_key) or {}
    return (not any(edits.get(k) for k in ("edited_rows", "added_rows", "deleted_rows"))
            and st.session_state.get(instruction_key, base["instruction"]) == base["instruction"])


@st.fragment
def log_editor(store: Store, log_id: str, current: int, annotator: str) -> None:
    """Edit the open log; saving needs an annotator name, a change and a valid result. A fragment: cell
    edits rerun only the editor; saving reruns the whole page."""
    bases = st.session_state.setdefault(BASES_KEY, {})
    base_revision = bases.setdefault(log_id, current)
    base = store.logs.get(log_id, base_revision)
    editor_key, instruction_key = f"editor-{log_id}-{base_revision}", f"instruction-{log_id}-{base_revision}"
    if base_revision != current and log_id not in st.session_state.get(CONFLICTS_KEY, {}):
        if _untouched(editor_key, instruction_key, base):  # nothing of yours to keep: follow the latest
            base_revision = bases[log_id] = current
            base = store.logs.get(log_id, current)
            editor_key, instruction_key = f"editor-{log_id}-{current}", f"instruction-{log_id}-{current}"
        else:
            st.info(f"You are editing revision {base_revision}; someone has since saved revision {current}.")
    # The editor's configuration must not change while it is open, or Streamlit resets its edits.
    if f"workers-{editor_key}" not in st.session_state:
        seen = {w for w, _ in worker_facet(store, LogFilter(), limit=500)}
        seen |= {t["worker"] for t in base["subtasks"] if t.get("worker")}
        st.session_state[f"workers-{editor_key}"] = sorted(seen)
    known = st.session_state[f"workers-{editor_key}"]
    instruction = st.text_area("Instruction", value=base["instruction"], key=instruction_key)
    edited = st.data_editor(editor_frame(base["subtasks"]), key=editor_key, num_rows="dynamic", hide_index=True,
                            column_config=_column_config(known))
    candidate = log_from_table(base, frame_rows(edited), instruction)
    problems = edit_problems(candidate)
    changed = canonical_json(candidate) != canonical_json(base)
    if problems:
        st.error("Cannot save this log:\n\n" + "\n".join(f"- {md_escape(p)}" for p in problems))
    elif changed:
        st.code("\n".join(revision_diff(base, candidate)), language=None)
        for warning in choice_prob_warnings(base, candidate):
            st.warning(md_escape(warning))
    note = st.text_input("Note for this revision", key=f"note-{log_id}-{base_revision}",
                         placeholder="what you changed and why")
    reason = ("enter your annotator name in the sidebar" if not annotator else
              "fix the problems above" if problems else "nothing changed yet" if not changed else None)
    if st.button("Save as new revision", key="save_revision", type="primary", disabled=reason is not None,
                 help=reason):
        _save(store, candidate, annotator, note.strip() or None, base_revision)
        st.rerun()
    _conflict(store, log_id, current, annotator)
