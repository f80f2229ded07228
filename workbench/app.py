"""Entry point of the workbench: `streamlit run workbench/app.py` (declares the pages)."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent.parent / "pages"

st.set_page_config(page_title="OrchestAI Workbench", page_icon="🧭", layout="wide")
navigation = st.navigation([
    st.Page(PAGES / "home.py", title="Home", icon="🏠", default=True),
    st.Page(PAGES / "logs.py", title="Logs", icon="🗂️"),
    st.Page(PAGES / "import_export.py", title="Import and export", icon="📦"),
    st.Page(PAGES / "train.py", title="Train", icon="🏋️"),
    st.Page(PAGES / "runs.py", title="Runs", icon="📈"),
    st.Page(PAGES / "planner.py", title="Planner", icon="🧭"),
    st.Page(PAGES / "evaluate.py", title="Evaluate", icon="📏"),
])
navigation.run()
