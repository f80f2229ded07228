"""Curation logic behind the Logs page: filters from widget values, the edit table and back,
validation messages an annotator can act on, and readable differences between revisions."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np

from orchestai_core.dag import find_cycle
from orchestai_core.schema import LogError, validate_log
from orchestai_core.store import LogFilter, Store

FILTER_PREFIX = "flt_"
FILTER_FIELDS = (
    "review_status", "template", "worker", "success", "source", "min_cost", "max_cost", "min_latency",
    "max_latency", "min_subtasks", "max_subtasks", "search",
)
FACET_FIELDS = ("review_status", "template", "worker", "success", "source")
EDIT_COLUMNS = ("id", "type", "description", "worker", "choice_prob", "depends_on", "status", "cost_usd",
                "latency_ms", "tokens_in", "tokens_out")
TEXT_COLUMNS = ("id", "type", "description", "worker", "status")
END_OF_DAY = "\uffff"  # sorts after every ISO timestamp of the same day


# ----------------------------------------------------------------- filters
def filter_from_state(state: Mapping[str, Any]) -> LogFilter:
    """The LogFilter described by the filter widgets (keys `flt_<field>`, dates under `flt_dates`)."""
    values = {name: state.get(FILTER_PREFIX + name) for name in FILTER_FIELDS}
    values["search"] = (values["search"] or "").strip() or None
    for name in ("template", "worker", "source", "review_status"):
        if values[name] == "":
            values[name] = None
    dates = state.get(FILTER_PREFIX + "dates") or ()
    if isinstance(dates, date):
        dates = (dates,)
    if dates:
        values["created_from"] = dates[0].isoformat()
        values["created_to"] = dates[-1].isoformat() + END_OF_DAY
    return LogFilter(**values)


def facets(store: Store, flt: LogFilter, limit: int = 50) -> dict[str, list[tuple[Any, int]]]:
    """Counts per value of each facet field, under every filter except the facet's own."""
    counts = {}
    for name in FACET_FIELDS:
        others = replace(flt, **{name: None})
        found = worker_facet(store, others, limit) if name == "worker" else store.logs.facet(name, others, limit)
        counts[name] = [(v, n) for v, n in found if v is not None]
    return counts


@lru_cache(maxsize=4)
def _worker_table(store: Store, mark: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every (log rowid, worker code) pair, sorted by rowid, and the worker names; kept per content mark."""
    rows = store.logs.worker_rows()
    names = sorted({w for _, w in rows})
    code = {w: i for i, w in enumerate(names)}
    rowids = np.fromiter((r for r, _ in rows), dtype=np.int64, count=len(rows))
    codes = np.fromiter((code[w] for _, w in rows), dtype=np.int64, count=len(rows))
    order = np.argsort(rowids, kind="stable")
    return rowids[order], codes[order], names


def worker_facet(store: Store, flt: LogFilter, limit: int = 50) -> list[tuple[str, int]]:
    """Logs per worker among those matching the filter, as `store.logs.facet("worker", flt)` counts them.

    The SQL join of 400k+ worker rows takes most of a second at 100k logs; the pairs are read once per
    content change and counted in numpy, so reviews and filter changes stay fast.
    """
    rowids, codes, names = _worker_table(store, store.logs.content_mark())
    if flt != LogFilter():
        codes = codes[np.isin(rowids, np.asarray(store.logs.rowids(flt), dtype=np.int64))]
    counts = np.bincount(codes, minlength=len(names))
    ranked = sorted(((names[i], int(n)) for i, n in enumerate(counts) if n), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:limit]


def filter_signature(flt: LogFilter, sort: str, descending: bool) -> str:
    """A stable text naming a filter and order (pagination restarts when it changes)."""
    return json.dumps([flt.__dict__, sort, descending], sort_keys=True, default=str)


def neighbour(store: Store, log_id: str, flt: LogFilter, sort: str = "rowid", descending: bool = False,
              forward: bool = True, pending_only: bool = False) -> str | None:
    """The log after (or before) `log_id` in the list order; with `pending_only`, the next pending log,
    wrapping round to the first one. None when there is none."""
    if pending_only:
        flt = replace(flt, review_status="pending")
    cursor = store.logs.cursor(log_id, sort)
    rows = store.logs.query(flt, sort, descending != (not forward), after=cursor, limit=1).rows
    if not rows and pending_only:
        rows = [r for r in store.logs.query(flt, sort, descending, limit=2).rows if r["id"] != log_id][:1]
    return rows[0]["id"] if rows else None


# ----------------------------------------------------------------- edit table
def subtasks_table(subtasks: Sequence[dict]) -> list[dict]:
    """One row per subtask for the editor; dependencies as comma-separated ids."""
    rows = []
    for task in subtasks:
        row = {c: task.get(c) for c in EDIT_COLUMNS}
        row["depends_on"] = ", ".join(task.get("depends_on") or [])
        rows.append(row)
    return rows


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _dependencies(text: Any) -> list[str]:
    if _blank(text):
        return []
    seen: list[str] = []
    for dep in re.split(r"[,\s]+", str(text).strip()):
        if dep and dep not in seen:
            seen.append(dep)
    return seen


def _number(value: Any, original: Any, integer: bool) -> Any:
    """A cell's number as the log stores it: the original object when unchanged, ints for counts."""
    if isinstance(original, (int, float)) and not isinstance(original, bool) and original == value:
        return original
    if hasattr(value, "item"):  # numpy scalar from pandas
        value = value.item()
    if integer and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def log_from_table(log: dict, rows: Sequence[Mapping[str, Any]], instruction: str | None = None) -> dict:
    """The log with its subtasks replaced by the edited rows; fields the table does not show are kept
    for subtasks whose id is unchanged, and blank optional cells are left out."""
    originals = {t.get("id"): t for t in log["subtasks"]}
    subtasks = []
    for row in rows:
        task_id = "" if _blank(row.get("id")) else str(row["id"]).strip()
        original = originals.get(task_id, {})
        task = {k: v for k, v in original.items() if k not in EDIT_COLUMNS}
        task["id"] = task_id
        task["type"] = "" if _blank(row.get("type")) else str(row["type"]).strip()
        for name in ("description", "worker", "status"):
            if not _blank(row.get(name)):
                task[name] = str(row[name]) if name == "description" else str(row[name]).strip()
            elif name == "worker" and "worker" in original and original["worker"] is None:
                task["worker"] = None
        deps = _dependencies(row.get("depends_on"))
        if deps or "depends_on" in original:
            task["depends_on"] = original["depends_on"] if deps == original.get("depends_on") else deps
        for name in ("choice_prob", "cost_usd", "latency_ms", "tokens_in", "tokens_out"):
            if not _blank(row.get(name)):
                task[name] = _number(row[name], original.get(name), integer=name not in ("choice_prob", "cost_usd"))
        subtasks.append(task)
    edited = {**log, "subtasks": subtasks}
    if instruction is not None:
        edited["instruction"] = instruction
    return edited


def _row_name(i: int, subtasks: Sequence[dict]) -> str:
    task_id = subtasks[i].get("id") if i < len(subtasks) else None
    return f"row {i + 1}" + (f" ({task_id})" if task_id else "")


def edit_problems(log: dict) -> list[str]:
    """Why an edited log cannot be saved, in words naming the row; empty when it is valid."""
    subtasks = log["subtasks"]
    problems: list[str] = []
    if not str(log.get("instruction") or "").strip():
        problems.append("the instruction is empty")
    if not subtasks:
        problems.append("a log needs at least one subtask")
    first_row: dict[str, int] = {}
    for i, task in enumerate(subtasks):
        name = _row_name(i, subtasks)
        for column in ("id", "type"):
            if not task[column]:
                problems.append(f"{name}: {column} is empty")
        if task["id"] and task["id"] in first_row:
            problems.append(f"{name}: id {task['id']!r} is already used by row {first_row[task['id']] + 1}")
        first_row.setdefault(task["id"], i)
    for i, task in enumerate(subtasks):
        for dep in task.get("depends_on") or []:
            if dep == task["id"]:
                problems.append(f"{_row_name(i, subtasks)}: depends on itself")
            elif dep not in first_row:
                problems.append(f"{_row_name(i, subtasks)}: depends on unknown subtask {dep!r}")
    if problems:
        return problems
    parents = [[first_row[d] for d in t.get("depends_on") or []] for t in subtasks]
    cycle = find_cycle(parents)
    if cycle:
        names = " → ".join(subtasks[i]["id"] for i in reversed(cycle))
        return [f"dependency cycle: {names} (each step needs the one before)"]
    try:
        validate_log(log)
    except LogError as exc:
        return [re.sub(r"subtasks\[(\d+)\]\.?", lambda m: _row_name(int(m.group(1)), subtasks) + ": ", str(exc))
                .replace(": : ", ": ")]
    return []


def choice_prob_warnings(base: dict, log: dict) -> list[str]:
    """Steps whose worker was changed while their `choice_prob`, the probability of choosing the old
    worker, was left as it was. A warning, not a refusal: correcting a misspelt worker keeps it rightly."""
    before = {t.get("id"): t for t in base["subtasks"]}
    warnings = []
    for i, task in enumerate(log["subtasks"]):
        old = before.get(task["id"], {})
        if ("choice_prob" in task and task.get("worker") and old.get("worker")
                and task["worker"] != old["worker"] and task["choice_prob"] == old.get("choice_prob")):
            warnings.append(f"{_row_name(i, log['subtasks'])}: the worker changed from {old['worker']!r} to "
                            f"{task['worker']!r} but choice_prob {task['choice_prob']} is still the probability "
                            f"of choosing {old['worker']!r}: clear it or enter the new worker's, unless only the "
                            f"name was wrong")
    return warnings


# ----------------------------------------------------------------- revision differences
def _show(value: Any, width: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def revision_diff(old: dict | None, new: dict) -> list[str]:
    """What changed from one revision to the next, one line per change."""
    if old is None:
        return [f"first revision: {len(new['subtasks'])} subtasks"]
    lines = []
    for key in sorted((set(old) | set(new)) - {"subtasks"}):
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {_show(old.get(key))} → {_show(new.get(key))}")
    before = {t["id"]: t for t in old["subtasks"]}
    after = {t["id"]: t for t in new["subtasks"]}
    for task_id, task in before.items():
        if task_id not in after:
            lines.append(f"− subtask {task_id} ({task.get('type')}) removed")
    for task_id, task in after.items():
        if task_id not in before:
            lines.append(f"+ subtask {task_id} ({task.get('type')}) added")
            continue
        previous = before[task_id]
        for key in sorted((set(previous) | set(task)) - {"id"}):
            if previous.get(key) != task.get(key):
                lines.append(f"{task_id}.{key}: {_show(previous.get(key))} → {_show(task.get(key))}")
    common = [t for t in after if t in before]
    if not lines and common != [t for t in before if t in after]:
        lines.append("subtask order changed")
    return lines or ["no change in content"]


def describe_filter(flt: LogFilter) -> str:
    """The filter in words, for pages that act on it ('all logs' when empty)."""
    parts = []
    for name, value in flt.__dict__.items():
        if value is None:
            continue
        if name == "created_to":
            value = value.rstrip(END_OF_DAY)
        parts.append(f"{name.replace('_', ' ')} {value!r}" if isinstance(value, str) else
                     f"{name.replace('_', ' ')} {value}")
    return ", ".join(parts) if parts else "all logs"
