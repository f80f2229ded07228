"""OrchestAI core library: log format, store, synthetic corpus, planner model, training and planning.

This package never imports Streamlit; the workbench is a thin UI over it.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # The planner pulls in torch and transformers; import it only when asked for.
    if name == "Planner":
        from orchestai_core.planner_api import Planner

        return Planner
    raise AttributeError(f"module 'orchestai_core' has no attribute {name!r}")
