"""Entry point of the workbench: `streamlit run workbench/app.py` (declares the pages)."""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
PAGES = HERE.parent / "pages"

# A file of ours: a :material/…: page icon is fetched from fonts.gstatic.com, and the app stays offline.
st.set_page_config(page_title="OrchestAI Workbench", page_icon=str(HERE / "favicon.svg"), layout="wide")
navigation = st.navigation([
    st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True),
    st.Page(PAGES / "logs.py", title="Logs", icon=":material/folder_open:"),
    st.Page(PAGES / "import_export.py", title="Import and export", icon=":material/import_export:"),
    st.Page(PAGES / "train.py", title="Train", icon=":material/model_training:"),
    st.Page(PAGES / "runs.py", title="Runs", icon=":material/monitoring:"),
    st.Page(PAGES / "planner.py", title="Planner", icon=":material/explore:"),
    st.Page(PAGES / "evaluate.py", title="Evaluate", icon=":material/straighten:"),
])
navigation.run()
