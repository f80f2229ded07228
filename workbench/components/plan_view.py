"""A plan as the Planner page shows it: badges (DAG validity, planning time), estimated totals, the DAG
and the sub-task table with the critical path highlighted. Plan text is shown as text only."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from orchestai_core.planner_api import unfamiliar_warning
from workbench.components.dag_view import show_dag
from workbench.components.text import md_escape
from workbench.services.planning import (
    Planned,
    beam_label,
    budget_problem,
    dag_problem,
    path_cost,
    selection_caption,
    subtask_rows,
    usd,
)

PATH_BACKGROUND = "background-color: #ffe8d1"  # a light tint of the critical-path orange
COLUMNS = {
    "step": st.column_config.TextColumn(width="small"),
    "p(success)": st.column_config.ProgressColumn("p(success)", format="percent", min_value=0.0, max_value=1.0,
                                                  width=110, help="The outcome model's predicted probability "
                                                                  "that the chosen worker succeeds"),
    "runs": st.column_config.NumberColumn("runs", format="%d", width="small",
                                          help="How many times the training logs ran the chosen worker on a step "
                                               "of this type, with an outcome: what its p(success) rests on (few "
                                               "runs make the selection more cautious)"),
    "probability": st.column_config.ProgressColumn("p(worker)", format="percent", min_value=0.0, max_value=1.0,
                                                   width=120,
                                                   help="The imitation selector's probability for the chosen worker"),
    "alternative 1": st.column_config.TextColumn(help="Another worker for the step: its predicted success and cost "
                                                      "(or, without an outcome model, the selector's probability)"),
    "depends on": st.column_config.TextColumn(width="small"),
    "est. cost (USD)": st.column_config.NumberColumn("est. cost", format="$%.5f", width="small"),
    "est. latency (ms)": st.column_config.NumberColumn("est. ms", format="%.0f", width="small"),
    "critical path": st.column_config.CheckboxColumn("critical", width="small",
                                                     help="On the longest chain of estimated latencies"),
}


FOLLOWS_SHOWN = 80  # characters of the training request a consensus plan follows


def plan_badges(planned: Planned) -> None:
    """DAG validity, truncation, the training request a plan follows (consensus decoding), planning time and
    decoding as badges."""
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
        follows = meta.get("follows")
        if follows:
            shown = follows if len(follows) <= FOLLOWS_SHOWN else follows[:FOLLOWS_SHOWN].rstrip() + "…"
            st.badge(f"follows the plan of a training request: {md_escape(shown)}", icon=":material/history:",
                     color="violet")
        st.badge(f"planned in {planned.ms:,.0f} ms", icon=":material/timer:", color="blue")
        beam = meta.get("beam")
        if beam is not None:
            st.badge(beam_label(beam), icon=":material/search:", color="gray")


def plan_totals(plan: dict) -> None:
    """Steps, expected success (with an outcome model), estimated cost (all steps and critical path),
    critical-path latency, how the workers were chosen and whether the budgets hold."""
    success = plan.get("p_success")
    cols = st.columns(5 if success is not None else 4)
    cols[0].metric("Steps", len(plan["subtasks"]))
    if success is not None:
        cols[-1].metric("Expected success", f"{success:.0%}",
                        help="Predicted probability that every step succeeds (a failed step stops its dependants)")
    latency = plan.get("est_latency_ms")
    cols[1].metric("Est. cost", usd(plan.get("est_cost_usd")))
    cols[2].metric("Est. latency (critical path)", "—" if latency is None else f"{latency / 1000:.2f} s")
    cols[3].metric("Cost on the critical path", usd(path_cost(plan) if plan.get("critical_path") else None))
    path = plan.get("critical_path") or []
    st.caption("Critical path: " + (" → ".join(md_escape(s) for s in path) or "—"))
    st.caption(md_escape(selection_caption(plan)))
    problem = budget_problem(plan)
    if problem:
        st.warning(f"No plan keeps the budget: {md_escape(problem)}", icon=":material/savings:")


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
    warning = unfamiliar_warning(plan)
    if warning:
        st.warning(md_escape(warning[0].upper() + warning[1:]) + ".", icon=":material/explore_off:")
        st.caption(f"Nearest training request: {md_escape(plan['meta']['nearest']['instruction'])}")
    plan_totals(plan)
    show_dag(plan["subtasks"], height=320 if len(plan["subtasks"]) < 10 else 460, highlight=plan["critical_path"])
    plan_table(plan, key)

