"""Import and export: upload log files into the store, download logs as JSONL or training data."""

import pandas as pd
import streamlit as st

from orchestai_core.config import load_config
from orchestai_core.ingest import UnreadableFileError
from orchestai_core.store import LogFilter
from workbench.components.import_report import import_report
from workbench.components.log_filters import current_filter
from workbench.components.text import md_escape
from workbench.services.curation import describe_filter
from workbench.services.store import get_store
from workbench.services.transfer import (
    EXPORT_FILES,
    UPLOAD_FORMATS,
    UploadError,
    export_bytes,
    import_tools_upload,
    import_upload,
)

st.title("Import and export")
store = get_store()
limit_mb = int(load_config()["import"]["max_upload_mb"])

st.header("Import logs")
st.markdown(f"JSON Lines (`.jsonl`, `.jsonl.gz`) or a JSON array (`.json`) of execution logs, **at most "
            f"{limit_mb} MB** per file (`import.max_upload_mb` in `config.yaml`). Valid lines are imported even "
            "when others are rejected; a known log id with new content becomes a new revision.")
fmt = st.radio("Format", list(UPLOAD_FORMATS), horizontal=True, key="import_format", format_func=UPLOAD_FORMATS.get)
if fmt == "taskbench":
    st.caption("One row a line with `user_request`, `task_nodes`, `task_links`, `task_steps`: each node's tool "
               "becomes a sub-task type, its step the description; a row whose links do not form a DAG over its "
               "nodes is rejected and kept.")
upload = st.file_uploader("Log file", type=["jsonl", "gz", "json"], max_upload_size=limit_mb, key="upload")
tools = (st.file_uploader("Tool descriptions (optional, TaskBench tool_desc.json)", type=["json"],
                          max_upload_size=limit_mb, key="tools_upload") if fmt == "taskbench" else None)
if upload is not None and st.button(f"Import {md_escape(upload.name)}", type="primary", key="import"):
    st.session_state.pop("import_report", None)
    st.session_state.pop("tools_report", None)
    try:
        if tools is not None:
            st.session_state["tools_report"] = (tools.name, import_tools_upload(store, tools.name, tools,
                                                                                limit_mb * 2**20))
        st.session_state["import_report"] = (upload.name, import_upload(store, upload.name, upload,
                                                                        limit_mb * 2**20, fmt))
    except (UploadError, UnreadableFileError) as exc:
        st.error(md_escape(exc))
if "tools_report" in st.session_state:
    name, counts = st.session_state["tools_report"]
    st.success(f"Tool descriptions of {md_escape(name)}: {counts.added:,} added, {counts.updated:,} updated, "
               f"{counts.unchanged:,} unchanged.")
if "import_report" in st.session_state:
    import_report(store, *st.session_state["import_report"])
batches = store.imports.batches()
if batches:
    with st.expander(f"Previous imports ({len(batches):,})"):
        st.dataframe(pd.DataFrame(batches)[["id", "source_name", "started_at", "status", "read", "imported",
                                            "updated", "unchanged", "rejected"]], hide_index=True)

st.header("Export logs")
scope = st.radio("Logs", ["accepted", "filtered"], horizontal=True, key="export_scope",
                 format_func={"accepted": "every accepted log",
                              "filtered": "the logs matching the Logs page filter"}.get)
flt = LogFilter(review_status="accepted") if scope == "accepted" else current_filter()
fmt = st.radio("Format", list(EXPORT_FILES), horizontal=True, key="export_format",
               format_func={"jsonl": "JSONL (log format)", "training-json": "training_data.json"}.get)
count = store.logs.count(flt)
st.caption(f"{count:,} logs · {md_escape(describe_filter(flt))}")
st.download_button(f"Download {EXPORT_FILES[fmt]} ({count:,} logs)", data=lambda: export_bytes(store, fmt, flt),
                   file_name=EXPORT_FILES[fmt], mime="application/json", disabled=count == 0, key="export")
