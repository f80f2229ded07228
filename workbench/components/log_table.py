"""The paged log list: keyset pagination over the store, selecting a row opens that log (`?log=<id>`)."""

from __future__ import annotations

import zlib

import pandas as pd
import streamlit as st

from orchestai_core.store import LogFilter, Store
from workbench.components.log_filters import ListOrder
from workbench.services.curation import filter_signature

OPEN_PARAM = "log"
LIST_COLUMNS = ("id", "review_status", "instruction", "template", "n_subtasks", "success", "total_cost_usd",
                "total_latency_ms", "source", "created_at")
COLUMN_CONFIG = {
    "id": st.column_config.TextColumn("id"),
    "review_status": st.column_config.TextColumn("review"),
    "instruction": st.column_config.TextColumn("instruction", width="large"),
    "n_subtasks": st.column_config.NumberColumn("steps"),
    "success": st.column_config.CheckboxColumn("ok"),
    "total_cost_usd": st.column_config.NumberColumn("cost $", format="%.4f"),
    "total_latency_ms": st.column_config.NumberColumn("latency ms", format="%.0f"),
}


def open_log_id() -> str | None:
    return st.query_params.get(OPEN_PARAM) or None


def open_log(log_id: str | None) -> None:
    """Open a log (None closes it); works in callbacks too."""
    if log_id is None:
        st.query_params.pop(OPEN_PARAM, None)
    else:
        st.query_params[OPEN_PARAM] = log_id


def _pages(signature: str) -> dict:
    state = st.session_state.setdefault("log_pages", {})
    if state.get("signature") != signature:
        state.update(signature=signature, cursors=[None], index=0)
    return state


def _turn(state: dict, step: int, cursor: tuple | None) -> None:
    if step > 0:
        del state["cursors"][state["index"] + 1:]
        state["cursors"].append(cursor)
    state["index"] = max(0, state["index"] + step)


def log_list(store: Store, flt: LogFilter, order: ListOrder) -> None:
    """Show one page of the logs matching the filter, with previous/next page and row selection."""
    signature = filter_signature(flt, order.sort, order.descending) + str(order.page_size)
    state = _pages(signature)
    total = store.logs.count(flt)
    page = store.logs.query(flt, order.sort, order.descending, after=state["cursors"][state["index"]],
                            limit=order.page_size)
    first = state["index"] * order.page_size
    shown = f"{first + 1:,}–{first + len(page.rows):,}" if page.rows else "none"
    st.caption(f"**{total:,}** logs match · showing {shown} · select a row to open it")
    frame = pd.DataFrame(page.rows, columns=list(LIST_COLUMNS))
    frame["success"] = frame["success"].map({1: True, 0: False})
    key = f"log_list_{zlib.crc32(signature.encode())}_{state['index']}"
    event = st.dataframe(frame, key=key, on_select="rerun", selection_mode="single-row", hide_index=True,
                         column_config=COLUMN_CONFIG, height=min(38 + 35 * max(len(frame), 1), 420))
    rows = event.selection.rows
    choice = (key, rows[0]) if rows else None
    if choice is not None and choice != st.session_state.get("list_choice") and rows[0] < len(page.rows):
        open_log(page.rows[rows[0]]["id"])
    st.session_state["list_choice"] = choice
    back, forward, _ = st.columns([1, 1, 4])
    back.button("◀ Page", key="page_back", disabled=state["index"] == 0, on_click=_turn, args=(state, -1, None))
    forward.button("Page ▶", key="page_next", disabled=page.next_cursor is None, on_click=_turn,
                   args=(state, 1, page.next_cursor))
