"""Logs: filter and search the execution logs, open one to see its workflow, edit it, review it."""

import streamlit as st

from orchestai_core.store import StoreError
from workbench.components.annotator import annotator_input
from workbench.components.bulk_review import bulk_review
from workbench.components.flash import show_flashes
from workbench.components.log_detail import log_summary, workflow_views
from workbench.components.log_editor import log_editor
from workbench.components.log_filters import log_filters
from workbench.components.log_table import log_list, open_log, open_log_id
from workbench.components.review_bar import review_bar
from workbench.components.revision_history import revision_history
from workbench.components.text import md_escape
from workbench.services.store import get_store

st.title("Logs")
store = get_store()
annotator = annotator_input()
flt, order = log_filters(store)
show_flashes()

log_list(store, flt, order)
with st.expander("Bulk review of every log matching the filter"):
    bulk_review(store, flt, annotator)

log_id = open_log_id()
if log_id is None:
    st.info("Select a log in the list to open it.")
    st.stop()
try:
    row, log = store.logs.row(log_id), store.logs.get(log_id)
except StoreError:
    st.warning(f"There is no log {md_escape(log_id)}.")
    open_log(None)
    st.stop()

st.divider()
log_summary(log, row)
review_bar(store, log_id, flt, order, annotator)
workflow, edit, history = st.tabs(["Workflow", "Edit", "History"])
with workflow:
    workflow_views(log)
with edit:
    log_editor(store, log_id, row["revision"], annotator)
with history:
    revision_history(store, log_id, row["revision"], annotator)
