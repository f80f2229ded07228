"""Home: what is in the dataset (logs, templates, workers, success, cost and latency)."""

import streamlit as st

from workbench.components.charts import bar, histogram
from workbench.services.overview import dataset_overview
from workbench.services.store import get_store

st.title("OrchestAI Workbench")
store = get_store()
overview = dataset_overview(store)
summary = overview.summary

if not summary["logs"]:
    st.info(f"The database `{store.path}` holds no logs yet. Run `orchestai init` to load the default "
            "corpus, or `orchestai import FILE`.")
    st.stop()

cols = st.columns(5)
cols[0].metric("Logs", f"{summary['logs']:,}")
cols[1].metric("Templates", f"{summary['templates']:,}")
cols[2].metric("Workers", f"{summary['workers']:,}")
cols[3].metric("Success rate", "—" if summary["success_rate"] is None else f"{summary['success_rate']:.1%}")
cols[4].metric("Mean sub-tasks", f"{summary['mean_subtasks']:.1f}")
st.caption("Review: " + " · ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in summary["review"].items()))

left, right = st.columns(2)
left.plotly_chart(histogram(overview.costs, "Cost per workflow", "USD"))
right.plotly_chart(histogram(overview.latencies_s, "Latency per workflow (critical path)", "seconds"))
left.plotly_chart(histogram(overview.subtask_counts, "Sub-tasks per workflow", "sub-tasks"))
right.plotly_chart(bar(overview.workers, "Workers (logs using each)", "logs"))
st.plotly_chart(bar(overview.templates, "Most frequent templates", "logs"))
