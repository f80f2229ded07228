"""The Evaluate page's views of a report: metrics against targets, worker confusion heatmap, per-template
table, the worst cases with predicted and gold DAGs side by side, and the off-policy section (the outcome
model's worker selection against the logging policy, its calibration, the cost–quality curve). Log text is
shown as text."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from orchestai_core.evaluate import mostly_unfamiliar, unfamiliar_message
from orchestai_core.outcomes.calibration import Calibration
from orchestai_core.outcomes.report import THIN_EFFECTIVE_STEPS
from workbench.components.dag_view import show_dag
from workbench.components.text import md_escape
from workbench.services.evaluation import (
    EvaluationJob,
    EvaluationReport,
    case_rows,
    confusion_table,
    curve_series,
    graph_subtasks,
    metrics_rows,
    policy_rows,
    template_rows,
    worst_cases,
)

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
    if report.consensus:  # whether the planner's figures are its model's plans or the vote's
        st.caption(f"Consensus decoding: {md_escape(report.consensus)}")
    for cut in report.cut:  # logs the planner could not read or plan whole
        st.warning(md_escape(cut), icon=":material/content_cut:")
    unfamiliar = unfamiliar_message(report.unfamiliar)
    if unfamiliar and mostly_unfamiliar(report.unfamiliar):  # the figures say how it does on requests from elsewhere
        st.warning(md_escape(unfamiliar[0].upper() + unfamiliar[1:]) + ": these figures say how the planner does on "
                   "requests from elsewhere, not in its own domains.", icon=":material/explore_off:")
    elif unfamiliar:
        st.caption(md_escape(unfamiliar[0].upper() + unfamiliar[1:]) + ".")
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


def reliability_figure(calibration: dict[str, Calibration]) -> go.Figure:
    """Observed success rate against the mean prediction per bin (plain and weighted by 1/choice_prob),
    the diagonal being perfect calibration; marker size follows the bin's steps."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="grey"),
                               name="perfectly calibrated", hoverinfo="skip"))
    for kind, label in (("plain", "every step once"), ("weighted", "weighted by 1/choice_prob")):
        bins = calibration[kind].bins
        fig.add_trace(go.Scatter(
            x=[b.predicted for b in bins], y=[b.observed for b in bins], mode="lines+markers",
            name=f"{label} (ECE {calibration[kind].ece:.3f})", customdata=[b.count for b in bins],
            marker=dict(size=[6 + 14 * (b.count / max(c.count for c in bins)) ** 0.5 for b in bins]),
            hovertemplate="predicted %{x:.3f} → observed %{y:.3f} (%{customdata} steps)<extra></extra>"))
    fig.update_layout(title="Reliability of the predicted success (logged worker)", xaxis_title="predicted p_success",
                      yaxis_title="observed success rate", height=380, margin=dict(l=10, r=10, t=50, b=10),
                      xaxis=dict(range=[0, 1]), yaxis=dict(range=[0, 1.02]))
    return fig


def _errors(values, low, high) -> dict:
    return dict(type="data", symmetric=False, array=[h - v for v, h in zip(values, high)],
                arrayminus=[v - lo for v, lo in zip(values, low)], thickness=1)


def curve_figure(report: EvaluationReport) -> go.Figure:
    """Estimated success against estimated cost per step: the cost-weight sweep as a line with error bars
    (hollow markers where an estimate rests on fewer than THIN_EFFECTIVE_STEPS effective logged steps), every
    single worker, a random choice and the logging policy as labelled markers."""
    series = curve_series(report.policy)
    sweep, refs = series["sweep"], series["references"]
    fig = go.Figure(go.Scatter(
        x=sweep["cost"], y=sweep["success"], mode="lines+markers",
        name=f"learned policy ({report.policy.curve.estimator.upper()})",
        text=sweep["label"], error_x=_errors(sweep["cost"], sweep["cost_low"], sweep["cost_high"]),
        error_y=_errors(sweep["success"], sweep["success_low"], sweep["success_high"]),
        customdata=sweep["effective_steps"],
        marker=dict(symbol=["circle-open" if n < THIN_EFFECTIVE_STEPS else "circle" for n in sweep["effective_steps"]],
                    size=9),
        hovertemplate="cost weight %{text}: success %{y:.3f} at $%{x:.3g}, resting on about %{customdata:,.0f} "
                      "effective logged steps<extra></extra>"))
    symbols = {"worker": "square", "uniform": "diamond", "logging": "star"}
    for kind, name in (("worker", "single worker"), ("uniform", "random choice"), ("logging", "logging policy")):
        keep = [i for i, k in enumerate(refs["kind"]) if k == kind]
        labels = [html.escape(refs["label"][i].removeprefix("only:")) for i in keep]
        fig.add_trace(go.Scatter(
            x=[refs["cost"][i] for i in keep], y=[refs["success"][i] for i in keep], mode="markers+text",
            name=name, text=labels, textposition="top center", marker=dict(symbol=symbols[kind], size=11),
            hovertemplate="%{text}: success %{y:.3f} at $%{x:.3g}<extra></extra>"))
    fig.update_layout(title="Cost–quality: sweeping the cost weight", xaxis_title="cost per step ($, log scale)",
                      yaxis_title="success rate", xaxis_type="log", height=460, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def policy_view(report: EvaluationReport) -> None:
    """The outcome model's worker selection against the logging policy (IPS, SNIPS, DR with intervals),
    the reliability diagram with its ECE, and the cost–quality curve; or why there is none."""
    policy = report.policy
    if policy is None:
        st.info(md_escape(report.policy_note or "No off-policy estimates."), icon=":material/info:")
        return
    st.caption(f"{policy.steps:,} executed steps of {policy.logs:,} logs · learned policy: utility selection at "
               f"cost weight {policy.cost_weight:g}, latency weight {policy.latency_weight:g} · 95 % bootstrap "
               f"intervals · its estimates rest on about {policy.effective_steps:,.0f} effective logged steps "
               "(the fewer, the wider the intervals)")
    for note in policy.notes:
        st.info(md_escape(note), icon=":material/info:")
    st.dataframe(pd.DataFrame(policy_rows(policy)), hide_index=True, key="eval_policy", placeholder="undefined")
    plain, weighted = policy.calibration["plain"], policy.calibration["weighted"]
    left, right = st.columns(2)
    left.metric("ECE (every step once)", f"{plain.ece:.3f}")
    right.metric("ECE (weighted by 1/choice_prob)", f"{weighted.ece:.3f}")
    st.plotly_chart(reliability_figure(policy.calibration), key="eval_reliability")
    st.plotly_chart(curve_figure(report), key="eval_curve")
