"""The outcome of one import: counts, rejected lines with their reasons, and the rejected lines to
download (verbatim, to fix and upload again)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from orchestai_core.ingest import ImportReport
from orchestai_core.store import Store
from workbench.components.text import md_escape
from workbench.services.transfer import rejected_lines


def import_report(store: Store, name: str, report: ImportReport) -> None:
    if report.imported or report.updated:
        st.success(f"Imported {md_escape(name)}: {report.read:,} lines read.")
    elif report.unchanged:
        st.info(f"Nothing new in {md_escape(name)}: its {report.unchanged:,} valid logs are already in the store.")
    else:
        st.warning(f"Nothing imported from {md_escape(name)}: all {report.read:,} lines were rejected (reasons below).")
    cols = st.columns(4)
    for col, label, value in zip(cols, ("Imported", "Updated", "Unchanged", "Rejected"),
                                 (report.imported, report.updated, report.unchanged, report.rejected)):
        col.metric(label, f"{value:,}")
    if not report.rejected:
        return
    rejects = store.imports.rejects(report.batch_id)
    st.dataframe(pd.DataFrame({"line": [r["line"] for r in rejects], "reason": [r["error"] for r in rejects]}),
                 hide_index=True)
    stem = Path(name).name.split(".")[0] or "upload"
    st.download_button(f"Download the {report.rejected:,} rejected lines", rejected_lines(store, report.batch_id),
                       file_name=f"{stem}.rejected.jsonl", mime="application/jsonl", key="download_rejects")
