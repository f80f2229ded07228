"""The instruction box of the Planner page with a few examples to start from, and the Plan button."""

from __future__ import annotations

import streamlit as st

from workbench.services.planning import EXAMPLES

TEXT_KEY = "planner_text"
SUBMITTED_KEY = "planner_submitted"
OWN = "(type your own)"


def _use_example() -> None:
    example = st.session_state.get("planner_example")
    if example and example != OWN:
        st.session_state[TEXT_KEY] = example


def _submit() -> None:
    st.session_state[SUBMITTED_KEY] = st.session_state.get(TEXT_KEY) or ""


def instruction_input() -> str | None:
    """The instruction last submitted with Plan (None before the first click); the box may differ."""
    st.selectbox("Example instructions", [OWN, *EXAMPLES], key="planner_example", on_change=_use_example)
    st.text_area("Instruction", key=TEXT_KEY, height=110,
                 placeholder="What should the workflow do? For example: " + EXAMPLES[0])
    st.button("Plan", type="primary", icon=":material/explore:", key="plan", on_click=_submit)
    return st.session_state.get(SUBMITTED_KEY)
