"""The Evaluate page's views of a report: metrics against targets, worker confusion heatmap, per-template
table and the worst cases with predicted and gold DAGs side by side. Log text is shown as text."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from workbench.components.dag_view import show_dag
from workbench.components.text import md_escape
from workbench.services.evaluation import (EvaluationJob, EvaluationReport, case_rows, confusion_table,
                                           graph_subtasks, metrics_rows, template_rows, worst_cases)

PERCENT = st.column_config.NumberColumn(format="percent")


@st.fragment(run_every=0.5)
def evaluation_progress(job: EvaluationJob) -> None:
    """A progress bar while the job runs; the whole page reruns when it ends."""
    if not job.running:
        st.rerun()
    st.progress(job.fraction, text=job.status())


def metrics_view(report: EvaluationReport) -> None:
    """Headline metrics beside the nearest-neighbour baseline and the original report's targets."""
    st.caption(f"{report.metrics['n']:,} logs ({md_escape(report.dataset)}) · checkpoint "
               f"{md_escape(report.checkpoint)} · {report.seconds:.1f} s")
    st.dataframe(pd.DataFrame(metrics_rows(report)), hide_index=True, key="eval_metrics",
                 column_config={"model": PERCENT, "nearest-neighbour baseline": PERCENT})
    for cut in report.cut:  # logs the planner could not read or plan whole
        st.warning(md_escape(cut), icon=":material/content_cut:")
    raw = report.metrics.get("raw_acyclic")
    if raw is not None:
        st.caption(f"Raw predicted adjacency already acyclic (before decoding keeps forward edges): {raw:.1%}")


def confusion_figure(report: EvaluationReport) -> go.Figure | None:
    """Gold worker (rows) against predicted worker (columns); None without matched steps. Names are
    HTML-escaped because plotly reads a few tags in labels."""
    gold, predicted, counts = confusion_table(report)
    if not gold:
        return None
    fig = go.Figure(go.Heatmap(z=counts, x=[html.escape(p) for p in predicted], y=[html.escape(g) for g in gold],
                               colorscale="Blues", texttemplate="%{z}",
                               hovertemplate="gold %{y} → predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(title="Worker confusion (steps matched by type)", xaxis_title="predicted worker",
                      yaxis_title="gold worker", height=160 + 30 * len(gold), margin=dict(l=10, r=10, t=50, b=10),
                      yaxis=dict(autorange="reversed"))
    return fig


def confusion_view(report: EvaluationReport) -> None:
    figure = confusion_figure(report)
    if figure is None:
        st.caption("No step was matched to a gold step with a worker: no confusion matrix.")
    else:
        st.plotly_chart(figure, key="eval_confusion")


def template_view(report: EvaluationReport) -> None:
    """Per-template metrics, worst first (every column sorts on click)."""
    st.dataframe(pd.DataFrame(template_rows(report)), hide_index=True, key="eval_templates", placeholder="—",
                 column_config={"error": PERCENT, "node-F1": PERCENT, "edge-F1": PERCENT,
                                "worker accuracy": PERCENT})


def worst_cases_view(report: EvaluationReport, n: int = 10) -> None:
    """The worst cases in a table; the chosen one with its predicted and gold DAGs side by side."""
    cases = worst_cases(report, n)
    st.dataframe(pd.DataFrame(case_rows(cases)), hide_index=True, key="eval_worst",
                 column_config={"node-F1": PERCENT, "edge-F1": PERCENT})
    if st.session_state.get("eval_case", 0) >= len(cases):  # a shorter report than the last one
        st.session_state.pop("eval_case")
    index = st.selectbox("Open a case", range(len(cases)), key="eval_case",
                         format_func=lambda i: f"{cases[i].id} · node-F1 {cases[i].scores['node_f1']:.2f}")
    case = cases[index]
    with st.container(border=True):
        st.text(case.instruction)
    predicted, gold = st.columns(2)
    with predicted:
        st.markdown("**Predicted**")
        show_dag(graph_subtasks(case.predicted), height=300)
    with gold:
        st.markdown("**Gold**")
        show_dag(graph_subtasks(case.gold), height=300)
