"""Training examples from logs, log files, `training_data.json` and the store (the examples themselves
are in `examples.py`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from orchestai_core.dag import parent_indices, topological_order
from orchestai_core.examples import Example, Skipped
from orchestai_core.ingest import read_records

TRAINING_FORMAT = "orchestai-training/1"


def example_from_log(log: dict) -> Example:
    """Reorder a valid log's subtasks canonically and keep what training needs."""
    subtasks = log["subtasks"]
    order = topological_order(subtasks)
    position = {old: new for new, old in enumerate(order)}
    old_parents = parent_indices(subtasks)
    ordered = [subtasks[i] for i in order]
    return Example(
        id=log["id"],
        instruction=log["instruction"],
        template=log.get("template"),
        types=[s["type"] for s in ordered],
        workers=[s.get("worker") for s in ordered],
        parents=[sorted(position[p] for p in old_parents[i]) for i in order],
        costs=[s.get("cost_usd") for s in ordered],
        latencies=[s.get("latency_ms") for s in ordered],
        success=log.get("success"),
        choice_probs=[s.get("choice_prob") for s in ordered],
        statuses=[s.get("status") for s in ordered],
    )


def write_training_json(logs: Iterable[dict], path: str | os.PathLike) -> int:
    """Write `training_data.json` atomically; return the number of examples written."""
    path = Path(path)
    examples = [asdict(example_from_log(log)) for log in logs]
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"format": TRAINING_FORMAT, "examples": examples}, fh, ensure_ascii=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(examples)


def _is_training_json(path: Path) -> bool:
    if path.suffix != ".json":
        return False
    with open(path, "rb") as fh:
        head = fh.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def load_examples(path: str | os.PathLike, skipped: list[Skipped] | None = None, fmt: str = "log") -> list[Example]:
    """Examples from `training_data.json`, or from a log file (.jsonl, .jsonl.gz, .json array); with
    `fmt="taskbench"`, from TaskBench rows read as `orchestai import --format taskbench` reads them.

    Invalid log lines are left out and appended to `skipped` (line and reason), as import rejects
    them; without a `skipped` list the first one raises ValueError naming the line (strict).
    A file that is no log file at all raises NotALogFileError.
    """
    path = Path(path)
    if fmt == "log" and _is_training_json(path):
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        if not isinstance(data, dict) or data.get("format") != TRAINING_FORMAT:
            raise ValueError(f"{path}: not a training file (expected format {TRAINING_FORMAT!r})")
        return [Example(**e) for e in data["examples"]]
    return [example_from_log(log) for log in valid_logs(read_records(path, fmt=fmt), path, skipped)]


def valid_logs(records: Iterable, where: str | os.PathLike, skipped: list[Skipped] | None = None) -> Iterator[dict]:
    """The logs of the valid `records` (ingest.Record), in order. Invalid ones are left out and appended to
    `skipped` (line and reason); without a `skipped` list the first one raises ValueError naming `where` and
    its line (strict)."""
    for record in records:
        if record.error:
            if skipped is None:
                raise ValueError(f"{where}: line {record.line}: {record.error}")
            skipped.append(Skipped(record.line, record.error))
            continue
        yield record.log


def examples_from_store(store, status: str | None = None) -> list[Example]:
    """Examples from the latest revision of every log in the store, optionally by review status."""
    return [example_from_log(log) for log in store.logs.iterate(status=status)]
