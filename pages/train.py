"""Train: launch Phase-1 training in a background process and follow it live."""

import streamlit as st

from orchestai_core.config import load_config
from workbench.components.flash import flash, show_flashes
from workbench.components.run_monitor import run_monitor
from workbench.components.token_cache_panel import token_cache_panel
from workbench.components.train_form import train_form
from workbench.services.store import get_store
from workbench.services.training import (
    ACTIVE,
    LaunchError,
    available_devices,
    launch_run,
    refresh_runs,
    validate_request,
)

st.title("Train")
st.caption("Phase-1 supervised training runs as its own process: closing this page does not stop it.")
store, config = get_store(), load_config()
show_flashes()

devices = available_devices()
with st.expander("Start a training run", expanded=not store.runs.active()):
    request = train_form(store, config, devices)
if request is not None:
    problems = validate_request(request, devices)
    if problems:
        st.error("Not started:\n" + "\n".join(f"- {p}" for p in problems))
    else:
        try:
            st.session_state["train_monitor_run"] = launch_run(store, config, request)
            flash("success", f"Run {st.session_state['train_monitor_run']} started.")
            st.rerun()
        except LaunchError as exc:
            st.error(f"Not started: {exc}")

token_cache_panel(config)

refresh_runs(store)
runs = store.runs.list()
if not runs:
    st.info("No training run yet: start one above.")
    st.stop()
ids = [r["id"] for r in runs]
labels = {r["id"]: f"Run {r['id']} · launched {r['created_at']}" for r in runs}  # status: in the monitor
active = [r["id"] for r in runs if r["status"] in ACTIVE]
if st.session_state.get("train_monitor_run") not in ids:  # first visit, or the run was deleted
    st.session_state["train_monitor_run"] = active[0] if active else ids[0]
run_id = st.selectbox("Run", ids, format_func=labels.get, key="train_monitor_run")
run_monitor(store, run_id)
