"""Planner: type an instruction and see the planned workflow; weigh cost and speed against predicted success,
set budgets, compare two checkpoints, export the plan or send it to curation."""

import streamlit as st

from orchestai_core.checkpoints import CheckpointError
from orchestai_core.config import load_config
from workbench.components.checkpoint_picker import checkpoint_picker, checkpoints_or_stop
from workbench.components.flash import show_flashes
from workbench.components.instruction_input import instruction_input
from workbench.components.plan_actions import plan_actions
from workbench.components.plan_view import show_plan
from workbench.components.text import md_escape
from workbench.services.planning import (
    BEAM_CHOICES,
    NO_CHOICE,
    InstructionError,
    agreement,
    beam_label,
    check_instruction,
    chooses_workers,
    default_checkpoint,
    get_planner,
    optional_budget,
    plan_instruction,
    planner_quality,
)
from workbench.services.store import get_store

st.title("Planner")
# The widgets' keys of how workers are traded off; all four are cleared for a planner that chooses no worker.
COST_KEY, LATENCY_KEY, BUDGET_USD_KEY, BUDGET_MS_KEY = TRADE_KEYS = (
    "planner_cost_weight", "planner_latency_weight", "planner_budget_usd", "planner_budget_latency_ms")


def show_quality(checkpoint) -> None:
    """What the chosen planner scored on logs it never trained on: every planner shown carries it."""
    try:
        planner = get_planner(checkpoint.path)
        quality = planner_quality(checkpoint, planner)
    except CheckpointError as exc:
        st.warning(md_escape(exc))
        st.stop()
    if planner.numerals_note:
        st.warning(md_escape(planner.numerals_note[0].upper() + planner.numerals_note[1:]) + ".",
                   icon=":material/warning:")
    if quality is None:
        st.caption("Held-out quality unknown: this checkpoint recorded no validation.")
    elif quality.poor:
        st.warning(f"{md_escape(quality.caption)}. This planner gets most steps wrong: its plans are not worth "
                   "demoing. Train longer on the Train page, or pick the bundled default planner.",
                   icon=":material/warning:")
    else:
        st.caption(md_escape(quality.caption))


config = load_config()
store = get_store()
checkpoints = checkpoints_or_stop(config, store, quick_run_here=True)

left, right = st.columns([3, 2], gap="large")
with left:
    submitted = instruction_input()
with right:
    first = checkpoint_picker(checkpoints, key="planner_checkpoint")
    show_quality(first)
    compare = st.toggle("Compare with a second checkpoint", key="planner_compare", disabled=len(checkpoints) < 2)
    others = [c for c in checkpoints if c.path != first.path]
    second = (checkpoint_picker(others, key="planner_checkpoint_b", label="Second checkpoint",
                                default=default_checkpoint(others)) if compare and others else None)
    try:
        fixed = not chooses_workers(c for c in (first, second) if c)  # no weight or budget can change its plans
    except CheckpointError as exc:
        st.warning(md_escape(exc))
        st.stop()
    if fixed:
        st.caption(NO_CHOICE)
        for key in TRADE_KEYS:  # shown, applied and recorded (the plan's meta, its export) as what they are: none
            st.session_state[key] = 0.0
    cost_weight = st.slider("Quality ↔ cost", 0.0, 5.0, 0.0, 0.25, key=COST_KEY, disabled=fixed,
                            help="0 picks, for each step, the worker likeliest to succeed; higher values give up "
                                 "predicted success for cheaper workers (at w, avoiding the step's dearest worker "
                                 "is worth w of success probability).")
    latency_weight = st.slider("Quality ↔ speed", 0.0, 5.0, 0.0, 0.25, key=LATENCY_KEY, disabled=fixed,
                               help="The same trade for latency: higher values prefer faster workers.")
    with st.expander("Budgets per plan"):
        budget_usd = st.number_input("Cost budget (USD, 0 = none)", min_value=0.0, value=0.0, step=0.001,
                                     format="%.4f", key=BUDGET_USD_KEY, disabled=fixed)
        budget_ms = st.number_input("Latency budget (critical path, ms, 0 = none)", min_value=0.0, value=0.0,
                                    step=1000.0, key=BUDGET_MS_KEY, disabled=fixed)
    beam = st.selectbox("Decoding", BEAM_CHOICES, format_func=beam_label, key="planner_beam",
                        help="How many partial plans are kept while decoding. 1 (greedy) is fastest; a wider beam "
                             "finds more probable plans and takes longer. Default: the width the checkpoint was "
                             "trained with (`model.beam`).")

if submitted is None:
    st.info("Pick an example or type an instruction, then press **Plan**.")
    st.stop()
try:
    text = check_instruction(submitted)
    plans = [(c, plan_instruction(get_planner(c.path), text, cost_weight, beam, latency_weight,
                                  optional_budget(budget_usd), optional_budget(budget_ms)))
             for c in (first, second) if c]
except (InstructionError, CheckpointError) as exc:
    st.warning(md_escape(exc))
    st.stop()

st.divider()
show_flashes()
with st.container(border=True):
    st.text(text)
if len(plans) == 2:
    match = agreement(plans[0][1].plan, plans[1][1].plan)
    st.caption(f"Second against first: node-F1 {match['node_f1']:.2f} · edge-F1 {match['edge_f1']:.2f} · same "
               f"worker on {match['same_workers']} of {match['matched']} steps matched by type")
for key, column, (checkpoint, planned) in zip("ab", st.columns(len(plans)), plans):
    with column:
        if len(plans) == 2:
            st.subheader(md_escape(checkpoint.label))
        show_plan(planned, key=f"plan_table_{key}")
        plan_actions(store, planned, str(checkpoint.path), cost_weight, key=key)
