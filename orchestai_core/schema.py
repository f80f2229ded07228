"""The execution-log format, version 1.1 (`docs/log-format.md`): parsing and validation.

`validate_log` checks one decoded JSON value and raises `LogError` whose message names the field,
e.g. `subtasks[3].depends_on: unknown subtask id 's9'`. Valid logs are returned unchanged, so
export gives back exactly what was imported.
"""

from __future__ import annotations

import math
import sys
from datetime import datetime
from typing import Any

import orjson

from orchestai_core.dag import critical_path, find_cycle, parent_indices

FORMAT_VERSION = "1.1"
LOG_FIELDS = {
    "id", "instruction", "subtasks", "success", "total_cost_usd", "total_latency_ms",
    "template", "source", "created_at", "meta",
}
REQUIRED_LOG_FIELDS = ("id", "instruction", "subtasks")
# The sub-task fields the format defines and checks; other sub-task fields (a plan's `worker_probs`, …)
# are kept as they are.
SUBTASK_FIELDS = {
    "id", "type", "description", "worker", "depends_on", "status", "cost_usd", "latency_ms",
    "tokens_in", "tokens_out", "choice_prob",
}
REQUIRED_SUBTASK_FIELDS = ("id", "type")
SUBTASK_STATUSES = ("success", "failed", "skipped")
MAX_SUBTASKS = 64
MAX_ID_LENGTH = 128
MAX_NUMBER = sys.float_info.max  # a larger integer has no float value: totals could not be computed
MAX_INTEGER = 2 ** 63 - 1        # the largest integer the store (SQLite, orjson) can hold


class LogError(ValueError):
    """A log breaks the format; the message starts with the offending field's path."""


def parse_json(text: str | bytes) -> Any:
    """Decode JSON strictly (NaN and Infinity are refused); errors are json.JSONDecodeError."""
    return orjson.loads(text)


def canonical_json(log: dict) -> str:
    """One stable text form of a log (sorted keys, no spaces, UTF-8), for content hashes and export."""
    return orjson.dumps(log, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)


def _string(value: Any, where: str, *, non_empty: bool = False, max_len: int | None = None) -> None:
    if not isinstance(value, str):
        raise LogError(f"{where}: expected a string, got {_type_name(value)}")
    if non_empty and not value.strip():
        raise LogError(f"{where}: must not be empty")
    if max_len is not None and len(value) > max_len:
        raise LogError(f"{where}: longer than {max_len} characters ({len(value)})")


def _number(value: Any, where: str, *, integer: bool = False) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        want = "an integer" if integer else "a number"
        raise LogError(f"{where}: expected {want}, got {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise LogError(f"{where}: must be finite")
    if value < 0:
        raise LogError(f"{where}: must be ≥ 0, got {value}")
    limit = MAX_INTEGER if integer else MAX_NUMBER
    if value > limit:
        raise LogError(f"{where}: too large to store ({len(str(int(value)))} digits, at most {limit:.3g})")


def _probability(value: Any, where: str) -> None:
    """A probability in (0, 1]: a step that was chosen had a chance above 0 of being chosen."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LogError(f"{where}: expected a number, got {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise LogError(f"{where}: must be finite")
    if not 0 < value <= 1:
        shown = str(value)
        raise LogError(f"{where}: must be in (0, 1], got {shown if len(shown) <= 24 else f'{len(shown)} digits'}")


_SUBTASK_NUMBERS = ("cost_usd", "latency_ms")
_SUBTASK_INTEGERS = ("tokens_in", "tokens_out")


def _choice_prob(task: dict, where: str) -> None:
    """`choice_prob` is the probability of choosing this step's worker: it needs a worker to refer to."""
    value = task["choice_prob"]
    if type(value) not in (int, float) or not 0 < value <= 1:
        _probability(value, f"{where}.choice_prob")
    if task.get("worker") is None:
        raise LogError(f"{where}.choice_prob: given without a worker (it is the probability of choosing "
                       f"this step's worker)")


def _subtask(task: Any, where: str) -> None:
    if type(task) is not dict:
        raise LogError(f"{where}: expected an object, got {_type_name(task)}")
    for field in REQUIRED_SUBTASK_FIELDS:
        value = task.get(field)
        if type(value) is not str or not value or value.isspace():
            if field not in task:
                raise LogError(f"{where}.{field}: required field missing")
            _string(value, f"{where}.{field}", non_empty=True)
    if "description" in task and type(task["description"]) is not str:
        _string(task["description"], f"{where}.description")
    worker = task.get("worker")
    if worker is not None and (type(worker) is not str or not worker or worker.isspace()):
        _string(worker, f"{where}.worker", non_empty=True)
    deps = task.get("depends_on", [])
    if type(deps) is not list:
        raise LogError(f"{where}.depends_on: expected an array, got {_type_name(deps)}")
    for k, dep in enumerate(deps):
        if type(dep) is not str:
            _string(dep, f"{where}.depends_on[{k}]")
    if "status" in task and task["status"] not in SUBTASK_STATUSES:
        raise LogError(
            f"{where}.status: unknown value {task['status']!r} (expected one of {', '.join(SUBTASK_STATUSES)})"
        )
    for field in _SUBTASK_NUMBERS:
        if field in task:
            value = task[field]
            if type(value) not in (int, float) or not 0 <= value <= MAX_NUMBER:
                _number(value, f"{where}.{field}")
    for field in _SUBTASK_INTEGERS:
        if field in task:
            value = task[field]
            if type(value) is not int or not 0 <= value <= MAX_INTEGER:
                _number(value, f"{where}.{field}", integer=True)
    if "choice_prob" in task:
        _choice_prob(task, where)


def _dependencies(subtasks: list[dict]) -> None:
    ids: dict[str, int] = {}
    for i, task in enumerate(subtasks):
        if task["id"] in ids:
            raise LogError(f"subtasks[{i}].id: duplicate subtask id {task['id']!r} (also subtasks[{ids[task['id']]}])")
        ids[task["id"]] = i
    for i, task in enumerate(subtasks):
        for dep in task.get("depends_on", []):
            if dep == task["id"]:
                raise LogError(f"subtasks[{i}].depends_on: subtask {dep!r} depends on itself")
            if dep not in ids:
                raise LogError(f"subtasks[{i}].depends_on: unknown subtask id {dep!r}")
    cycle = find_cycle(parent_indices(subtasks))
    if cycle:
        names = " -> ".join(subtasks[i]["id"] for i in reversed(cycle))
        raise LogError(f"subtasks[{cycle[0]}].depends_on: dependency cycle {names} (each step needs the one before)")


def validate_log(obj: Any) -> dict:
    """Check one decoded log against the spec; return it unchanged or raise LogError."""
    if not isinstance(obj, dict):
        raise LogError(f"log: expected a JSON object, got {_type_name(obj)}")
    unknown = sorted(set(obj) - LOG_FIELDS)
    if unknown:
        raise LogError(f"{unknown[0]}: unknown top-level field (put extra data under 'meta')")
    for field in REQUIRED_LOG_FIELDS:
        if field not in obj:
            raise LogError(f"{field}: required field missing")
    _string(obj["id"], "id", non_empty=True, max_len=MAX_ID_LENGTH)
    _string(obj["instruction"], "instruction", non_empty=True)
    subtasks = obj["subtasks"]
    if not isinstance(subtasks, list):
        raise LogError(f"subtasks: expected an array, got {_type_name(subtasks)}")
    if not 1 <= len(subtasks) <= MAX_SUBTASKS:
        raise LogError(f"subtasks: must hold 1 to {MAX_SUBTASKS} items, got {len(subtasks)}")
    if "success" in obj and not isinstance(obj["success"], bool):
        raise LogError(f"success: expected a boolean, got {_type_name(obj['success'])}")
    for field in ("total_cost_usd", "total_latency_ms"):
        if field in obj:
            _number(obj[field], field)
    for field in ("template", "source"):
        if field in obj:
            _string(obj[field], field)
    if "created_at" in obj:
        _string(obj["created_at"], "created_at")
        try:
            datetime.fromisoformat(obj["created_at"])
        except ValueError:
            raise LogError(f"created_at: not an ISO-8601 date-time: {obj['created_at']!r}") from None
    if "meta" in obj and not isinstance(obj["meta"], dict):
        raise LogError(f"meta: expected an object, got {_type_name(obj['meta'])}")
    for i, task in enumerate(subtasks):
        _subtask(task, f"subtasks[{i}]")
    _dependencies(subtasks)
    return obj


def log_totals(log: dict) -> tuple[float | None, float | None]:
    """Total cost and critical-path latency: as given, else derived from subtasks (None if unknown)."""
    cost = log.get("total_cost_usd")
    if cost is None and any("cost_usd" in s for s in log["subtasks"]):
        cost = sum(float(s.get("cost_usd") or 0.0) for s in log["subtasks"])
    latency = log.get("total_latency_ms")
    if latency is None and any("latency_ms" in s for s in log["subtasks"]):
        latency = critical_path(log["subtasks"])[1]
    return cost, latency
