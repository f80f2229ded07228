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
from workbench.services.transfer import EXPORT_FILES, UploadError, export_bytes, import_upload

st.title("Import and export")
store = get_store()
limit_mb = int(load_config()["import"]["max_upload_mb"])

st.header("Import logs")
st.markdown(f"JSON Lines (`.jsonl`, `.jsonl.gz`) or a JSON array (`.json`) of execution logs, **at most "
            f"{limit_mb} MB** per file (`import.max_upload_mb` in `config.yaml`). Valid lines are imported even "
            "when others are rejected; a known log id with new content becomes a new revision.")
upload = st.file_uploader("Log file", type=["jsonl", "gz", "json"], max_upload_size=limit_mb, key="upload")
if upload is not None and st.button(f"Import {md_escape(upload.name)}", type="primary", key="import"):
    try:
        report = import_upload(store, upload.name, upload, limit_mb * 2**20)
    except (UploadError, UnreadableFileError) as exc:
        st.error(md_escape(exc))
    else:
        st.session_state["import_report"] = (upload.name, report)
if "import_report" in st.session_state:
    import_report(store, *st.session_state["import_report"])
batches = store.import_batches()
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
count = store.count_logs(flt)
st.caption(f"{count:,} logs · {md_escape(describe_filter(flt))}")
st.download_button(f"Download {EXPORT_FILES[fmt]} ({count:,} logs)", data=lambda: export_bytes(store, fmt, flt),
                   file_name=EXPORT_FILES[fmt], mime="application/json", disabled=count == 0, key="export")
