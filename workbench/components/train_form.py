"""The form that launches a training run; its defaults come from config.yaml."""

from __future__ import annotations

import streamlit as st

from orchestai_core.store import REVIEW_STATUSES, LogFilter, Store
from workbench.services.training import DATA_CHOICES, Device, TrainRequest

ANY = "(any)"


def _filter_inputs(store: Store) -> LogFilter:
    """The filter used when the data choice is 'Logs matching a filter'."""
    templates = [ANY] + sorted(str(t) for t, _ in store.logs.facet("template", limit=1000) if t is not None)
    c1, c2, c3 = st.columns(3)
    template = c1.selectbox("Template", templates, key="train_filter_template")
    status = c2.selectbox("Review status", [ANY, *REVIEW_STATUSES], key="train_filter_status")
    search = c3.text_input("Instruction contains", key="train_filter_search")
    return LogFilter(template=None if template == ANY else template,
                     review_status=None if status == ANY else status, search=search.strip() or None)


def train_form(store: Store, config: dict, devices: list[Device]) -> TrainRequest | None:
    """Render the launch form; the request when it was submitted, else None. Values are checked by
    the caller (validate_request), so out-of-range entries get reasons rather than silent clamping."""
    defaults = TrainRequest.from_config(config)
    with st.form("train_form"):
        data = st.radio("Training data", list(DATA_CHOICES), format_func=DATA_CHOICES.get, horizontal=True,
                        index=list(DATA_CHOICES).index(defaults.data), key="train_data")
        with st.expander("Filter (used with “Logs matching a filter”)"):
            flt = _filter_inputs(store)
        c1, c2, c3, c4 = st.columns(4)
        epochs = c1.number_input("Epochs", value=defaults.epochs, step=1, key="train_epochs")
        batch_size = c2.number_input("Batch size", value=defaults.batch_size, step=1, key="train_batch_size")
        learning_rate = c3.number_input("Learning rate (encoder)", value=defaults.learning_rate, step=1e-5,
                                        format="%.1e", key="train_lr")
        head_rate = c4.number_input("Learning rate (heads)", value=defaults.head_learning_rate, step=1e-4,
                                    format="%.1e", key="train_head_lr")
        c1, c2, c3, c4, c5 = st.columns(5)
        lambda_dag = c1.number_input("λ_DAG", value=defaults.lambda_dag, step=0.05, format="%.2f", key="train_lambda")
        patience = c2.number_input("Patience", value=defaults.patience, step=1, key="train_patience",
                                   help="Epochs without a better validation loss before the run stops; 0 runs them all")
        splits = ["random", "template"]
        split = c3.selectbox("Validation split", splits, index=splits.index(defaults.split),
                             help="template: whole templates are held out, to measure unseen kinds of requests",
                             key="train_split")
        seed = c4.number_input("Seed", value=defaults.seed, step=1, key="train_seed")
        names = [d.name for d in devices]
        device = c5.selectbox("Device", names, format_func={d.name: d.label for d in devices}.get, key="train_device")
        c1, c2, c3 = st.columns([2, 1, 1])
        encoder = c1.text_input("Encoder (name or local path)", value=defaults.encoder, key="train_encoder")
        finetune = c2.number_input("Layers to fine-tune", value=defaults.finetune_layers, step=1,
                                   help="0 keeps the encoder frozen (its states are computed once)",
                                   key="train_finetune")
        kept = c3.number_input("Encoder layers kept", value=defaults.encoder_layers, step=1,
                               help="0 keeps them all; fewer (bottom up) train and plan faster, understand less",
                               key="train_encoder_layers")
        submitted = st.form_submit_button("Start training", type="primary")
    if not submitted:
        return None
    return TrainRequest(data=data, filter=flt, epochs=int(epochs), patience=int(patience),
                        batch_size=int(batch_size), learning_rate=float(learning_rate),
                        head_learning_rate=float(head_rate), lambda_dag=float(lambda_dag), encoder=encoder,
                        finetune_layers=int(finetune), encoder_layers=int(kept), split=split, seed=int(seed),
                        device=device)
