"""Sidebar filters of the log list, each choice shown with its count (facets), and the sort order."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from orchestai_core.store import SORT_COLUMNS, LogFilter, Store
from workbench.services.curation import FILTER_PREFIX, facets, filter_from_state, filter_signature

CURRENT_KEY = "logs_filter"  # the Logs page's filter, for the export on another page
KEEP = "session"  # filters survive a visit to another page
PAGE_SIZES = (25, 50, 100, 200)
SUCCESS_LABELS = {True: "succeeded", False: "failed"}  # 1 and 0 find these too: they hash as True and False


@dataclass
class ListOrder:
    sort: str
    descending: bool
    page_size: int = 50


@st.cache_data(max_entries=64, show_spinner=False)
def _facets(path: str, signature: str, marks: tuple[int, int], _store: Store, _flt: LogFilter) -> dict:
    """Facet counts of every value (a selectbox is searchable, so none is left out), recomputed only
    when the filter or the data changes (not on every rerun)."""
    return facets(_store, _flt, limit=None)


def _facet_select(label: str, name: str, counts: list[tuple], labels: dict | None = None) -> None:
    key = FILTER_PREFIX + name
    values = [v for v, _ in counts]
    current = st.session_state.get(key)
    if current is not None and current not in values:
        counts = [*counts, (current, 0)]
        values.append(current)
    number = dict(counts)
    labels = labels or {}

    def show(value):
        return "any" if value is None else f"{labels.get(value, value)} ({number.get(value, 0):,})"

    st.sidebar.selectbox(label, [None, *values], key=key, format_func=show, persist_state=KEEP)


def _range(label: str, name: str, step: float | int, fmt: str) -> None:
    low, high = st.sidebar.columns(2)
    zero = type(step)(0)
    low.number_input(f"{label} from", key=f"{FILTER_PREFIX}min_{name}", value=None, min_value=zero, step=step,
                     format=fmt, persist_state=KEEP)
    high.number_input(f"{label} to", key=f"{FILTER_PREFIX}max_{name}", value=None, min_value=zero, step=step,
                      format=fmt, persist_state=KEEP)


def log_filters(store: Store) -> tuple[LogFilter, ListOrder]:
    """Draw the filters in the sidebar; return the filter they describe and the list order."""
    st.sidebar.text_input("Search instructions and descriptions", key=FILTER_PREFIX + "search",
                          placeholder="words, all required", persist_state=KEEP)
    flt = filter_from_state(st.session_state)
    marks = (store.logs.content_mark(), store.logs.review_mark())
    counts = _facets(str(store.path), filter_signature(flt, "", False), marks, store, flt)
    _facet_select("Review status", "review_status", counts["review_status"])
    _facet_select("Template", "template", counts["template"])
    _facet_select("Worker", "worker", counts["worker"])
    success = [(bool(v), n) for v, n in counts["success"]]
    _facet_select("Overall outcome", "success", success, SUCCESS_LABELS)
    _facet_select("Source", "source", counts["source"])
    _range("Cost $", "cost", 0.001, "%.4f")
    _range("Latency ms", "latency", 100.0, "%.0f")
    _range("Subtasks", "subtasks", 1, "%d")
    st.sidebar.date_input("Run between", key=FILTER_PREFIX + "dates", value=[], format="YYYY-MM-DD", persist_state=KEEP)
    sort_col, desc_col = st.sidebar.columns([3, 2])
    sort = sort_col.selectbox("Sort by", ["rowid", *SORT_COLUMNS], key="list_sort", persist_state=KEEP,
                              format_func=lambda c: "import order" if c == "rowid" else c.replace("_", " "))
    descending = desc_col.toggle("Descending", key="list_descending", persist_state=KEEP)
    page_size = st.sidebar.selectbox("Rows per page", PAGE_SIZES, index=1, key="list_page_size", persist_state=KEEP)
    flt = filter_from_state(st.session_state)
    st.session_state[CURRENT_KEY] = flt
    return flt, ListOrder(sort, descending, page_size)


def current_filter() -> LogFilter:
    """The filter last set on the Logs page (no filter if it was not visited)."""
    return st.session_state.get(CURRENT_KEY) or LogFilter()
