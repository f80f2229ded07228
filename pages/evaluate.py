"""Evaluate: a checkpoint on a dataset of gold plans, computed in the background, set against the
report's targets and the nearest-neighbour baseline, with the errors to look at; and its outcome model's
worker selection estimated off-policy against the logging policy."""

import streamlit as st

from orchestai_core.checkpoints import CheckpointError
from orchestai_core.config import load_config
from orchestai_core.examples import skipped_message
from orchestai_core.training_data import example_from_log
from workbench.components.checkpoint_picker import checkpoint_picker, checkpoints_or_stop
from workbench.components.eval_views import (
    confusion_view,
    evaluation_progress,
    metrics_view,
    policy_view,
    template_view,
    worst_cases_view,
)
from workbench.components.text import md_escape
from workbench.services.evaluation import DATASETS, DatasetError, EvaluationJob, dataset_logs
from workbench.services.planning import get_planner
from workbench.services.store import get_store
from workbench.services.transfer import UPLOAD_FORMATS

JOB = "evaluation_job"
SKIPPED = "evaluation_skipped"  # what the running or shown evaluation left out of its upload

st.title("Evaluate")
config = load_config()
store = get_store()
checkpoints = checkpoints_or_stop(config, store, "to evaluate ")

job = st.session_state.get(JOB)
busy = job is not None and job.running
checkpoint = checkpoint_picker(checkpoints, key="eval_checkpoint")
dataset = st.radio("Dataset", list(DATASETS), format_func=DATASETS.get, horizontal=True, key="eval_dataset")
upload, fmt = None, "log"
if dataset == "upload":
    upload = st.file_uploader("Log file with gold plans", type=["jsonl", "gz", "json"], key="eval_upload")
    fmt = st.radio("Format", list(UPLOAD_FORMATS), format_func=UPLOAD_FORMATS.get, horizontal=True,
                   key="eval_format")
limit = st.number_input("At most this many logs", min_value=1, max_value=100_000, value=500, step=100,
                        key="eval_limit")
weights = st.columns(2)
cost_weight = weights[0].number_input("Cost weight of the learned worker selection", min_value=0.0, max_value=100.0,
                                      value=0.0, step=0.5, key="eval_cost_weight",
                                      help="Utility = p_success − cost weight × cost / the step's dearest worker's.")
latency_weight = weights[1].number_input("Latency weight", min_value=0.0, max_value=100.0, value=0.0, step=0.5,
                                         key="eval_latency_weight")
if st.button("Evaluate", type="primary", icon=":material/straighten:", key="evaluate", disabled=busy):
    skipped: list = []
    try:
        planner = get_planner(checkpoint.path)
        logs = dataset_logs(dataset, store, planner, limit, upload and (upload.name, upload.getvalue()), fmt, skipped)
    except (DatasetError, CheckpointError) as exc:
        st.error(md_escape(exc))
    else:
        st.session_state[SKIPPED] = f"{upload.name}: {skipped_message(skipped)}" if skipped else None
        source = DATASETS[dataset] if upload is None else upload.name
        job = st.session_state[JOB] = EvaluationJob(planner, [example_from_log(log) for log in logs], checkpoint.label,
                                                    source, logs, cost_weight, latency_weight).start()

if job is None:
    st.info("Pick a checkpoint and a dataset, then press **Evaluate**.")
    st.stop()
if st.session_state.get(SKIPPED):
    st.warning(md_escape(st.session_state[SKIPPED]), icon=":material/warning:")
if job.running:
    evaluation_progress(job)
    st.stop()
if job.error:
    st.error(f"The evaluation failed: {md_escape(job.error)}")
    st.stop()

report = job.report
st.header("Metrics")
metrics_view(report)
st.header("Worker selection, off-policy")
policy_view(report)
st.header("Worker confusion")
confusion_view(report)
st.header("Per template")
template_view(report)
st.header("Worst cases")
worst_cases_view(report)
