"""What one log shows before any editing: its instruction and totals, the DAG, the timeline and
the subtask table. Log text is shown with `st.text` or in tables, never as Markdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from orchestai_core.dag import critical_path
from orchestai_core.schema import log_totals
from workbench.components.dag_view import show_dag
from workbench.components.text import md_escape
from workbench.components.timeline import timeline_figure
from workbench.services.curation import subtasks_table


def log_summary(log: dict, row: dict) -> None:
    """Header: id, revision, review state, the instruction as plain text, and the totals."""
    st.subheader(f"Log {md_escape(log['id'])}")
    reviewed = f" by {md_escape(row['reviewer'])}" if row.get("reviewer") else ""
    where = " · ".join(f"{name} {md_escape(log.get(key) or '—')}"
                       for name, key in (("template", "template"), ("source", "source"), ("run", "created_at")))
    st.caption(f"revision {row['revision']} · review: **{row['review_status']}**{reviewed} · {where}")
    with st.container(border=True):
        st.text(log["instruction"])
    subtasks = log["subtasks"]
    cost, latency = log_totals(log)
    busy = sum(float(t.get("latency_ms") or 0.0) for t in subtasks)
    failed = sum(t.get("status") == "failed" for t in subtasks)
    cols = st.columns(6)
    cols[0].metric("Subtasks", len(subtasks))
    cols[1].metric("Outcome", {True: "ok", False: "failed"}.get(log.get("success"), "—"))
    cols[2].metric("Total cost", "—" if cost is None else f"${cost:.4f}")
    cols[3].metric("Wall time (critical path)", "—" if latency is None else f"{latency / 1000:.2f} s")
    cols[4].metric("Summed step time", f"{busy / 1000:.2f} s")
    cols[5].metric("Failed steps", failed)


def workflow_views(log: dict) -> None:
    """The DAG (critical path in bold orange), the execution timeline and the subtask table."""
    subtasks = log["subtasks"]
    measured = any(t.get("latency_ms") is not None for t in subtasks)
    path = critical_path(subtasks)[0] if measured else []
    show_dag(subtasks, height=340 if len(subtasks) < 12 else 480, highlight=path)
    figure = timeline_figure(subtasks)
    if figure is None:
        st.caption("No step latency recorded: no timeline.")
    else:
        st.plotly_chart(figure, key=f"timeline-{log['id']}")
    st.dataframe(pd.DataFrame(subtasks_table(subtasks)), hide_index=True)
