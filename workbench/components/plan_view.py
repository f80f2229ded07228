"""A plan as the Planner page shows it: badges (DAG validity, planning time), estimated totals, the DAG
and the sub-task table with the critical path highlighted. Plan text is shown as text only."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.components.dag_view import show_dag
from workbench.components.text import md_escape
from workbench.services.planning import Planned, beam_label, dag_problem, path_cost, subtask_rows

PATH_BACKGROUND = "background-color: #ffe8d1"  # a light tint of the critical-path orange
COLUMNS = {
    "step": st.column_config.TextColumn(width="small"),
    "probability": st.column_config.ProgressColumn("p(worker)", format="percent", min_value=0.0, max_value=1.0,
                                                   width=120,
                                                   help="The selector's probability for the chosen worker"),
    "depends on": st.column_config.TextColumn(width="small"),
    "est. cost (USD)": st.column_config.NumberColumn("est. cost", format="$%.5f", width="small"),
    "est. latency (ms)": st.column_config.NumberColumn("est. ms", format="%.0f", width="small"),
    "critical path": st.column_config.CheckboxColumn("critical", width="small",
                                                     help="On the longest chain of estimated latencies"),
}


def usd(amount: float) -> str:
    """Dollars with enough decimals that a fraction of a cent still shows ($0.000040, $0.0123)."""
    return f"${amount:.6f}" if abs(amount) < 0.01 else f"${amount:.4f}"


def plan_badges(planned: Planned) -> None:
    """DAG validity, truncation, planning time and decoding as badges."""
    problem, meta = dag_problem(planned.plan), planned.plan.get("meta", {})
    with st.container(horizontal=True):
        if problem is None:
            st.badge("valid DAG", icon=":material/check_circle:", color="green")
        else:
            st.badge(f"not a valid DAG: {md_escape(problem)}", icon=":material/cancel:", color="red")
        if meta.get("truncated"):
            st.badge("instruction truncated: the planner read its beginning only (encoder.max_length)",
                     icon=":material/content_cut:", color="orange")
        if meta.get("raw_adjacency_acyclic") is False:
            st.badge("raw edges had a cycle; decoding kept forward edges only", icon=":material/info:", color="orange")
        st.badge(f"planned in {planned.ms:,.0f} ms", icon=":material/timer:", color="blue")
        beam = meta.get("beam")
        if beam is not None:
            st.badge(beam_label(beam), icon=":material/search:", color="gray")


def plan_totals(plan: dict) -> None:
    """Steps, estimated cost (all steps and critical path) and critical-path latency."""
    cols = st.columns(4)
    cols[0].metric("Steps", len(plan["subtasks"]))
    cols[1].metric("Est. cost", usd(plan["est_cost_usd"]))
    cols[2].metric("Est. latency (critical path)", f"{plan['est_latency_ms'] / 1000:.2f} s")
    cols[3].metric("Cost on the critical path", usd(path_cost(plan)))
    path = plan.get("critical_path") or []
    st.caption("Critical path: " + (" → ".join(md_escape(s) for s in path) or "—"))


def plan_table(plan: dict, key: str) -> None:
    """The sub-task table; rows on the critical path are tinted."""
    frame = pd.DataFrame(subtask_rows(plan))
    styled = frame.style.apply(lambda row: [PATH_BACKGROUND if row["critical path"] else ""] * len(row), axis=1)
    st.dataframe(styled, hide_index=True, column_config=COLUMNS, key=key)


def show_plan(planned: Planned, key: str) -> None:
    """Badges, totals, the DAG (critical path in bold orange) and the table."""
    plan = planned.plan
    if not plan["subtasks"]:
        st.warning("This checkpoint planned no step for the instruction: there is nothing to draw.")
        return
    plan_badges(planned)
    plan_totals(plan)
    show_dag(plan["subtasks"], height=320 if len(plan["subtasks"]) < 10 else 460, highlight=plan["critical_path"])
    plan_table(plan, key)

