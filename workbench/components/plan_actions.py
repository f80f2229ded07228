"""What can be done with a plan: download it as JSON, or send it to curation as a pending log."""

from __future__ import annotations

import streamlit as st

from orchestai_core.schema import LogError
from orchestai_core.store import Store
from workbench.components.flash import flash
from workbench.components.text import md_escape
from workbench.services.planning import Planned, export_json, send_to_curation

SENT_KEY = "planner_sent"  # (checkpoint, plan id, cost weight, steps) → id of the log it became


def _send(store: Store, plan: dict, checkpoint: str, cost_weight: float, mark: tuple) -> None:
    try:
        log_id = send_to_curation(store, plan, checkpoint, cost_weight)
    except LogError as exc:
        flash("error", f"Not sent to curation: {md_escape(exc)}")
        return
    st.session_state.setdefault(SENT_KEY, {})[mark] = log_id
    flash("success", f"Sent to curation as log {md_escape(log_id)}")


def plan_actions(store: Store, planned: Planned, checkpoint: str, cost_weight: float, key: str) -> None:
    """Download button and "send to curation" (once per plan; the log id is shown afterwards)."""
    plan = planned.plan
    mark = (checkpoint, plan["id"], cost_weight, repr(plan["subtasks"]))
    sent = st.session_state.get(SENT_KEY, {}).get(mark)
    left, right = st.columns(2)
    left.download_button("Download the plan (JSON)", data=export_json(plan, checkpoint, cost_weight),
                         file_name=f"{plan['id']}.json", mime="application/json", icon=":material/download:",
                         key=f"export_{key}", on_click="ignore")
    if sent is None:
        right.button("Send to curation", icon=":material/edit_note:", key=f"curate_{key}", on_click=_send,
                     args=(store, plan, checkpoint, cost_weight, mark), disabled=not plan["subtasks"],
                     help="Save the plan as a pending log that annotators can correct on the Logs page: "
                          "corrected plans become training data.")
    else:
        right.success(f"In curation as pending log **{md_escape(sent)}** (Logs page).")
