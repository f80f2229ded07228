"""The OrchestAI workbench: a Streamlit app over `orchestai_core` (entry point `workbench/app.py`)."""
