"""Training examples: logs turned into what the planner learns from, and the `training_data.json` file.

A training example lists its sub-tasks in a canonical dependency order (parents before children, ties
in log order), so the decomposer can emit them one by one and every edge points backwards.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from orchestai_core.dag import parent_indices, topological_order
from orchestai_core.ingest import read_records

TRAINING_FORMAT = "orchestai-training/1"


@dataclass
class Example:
    """One instruction with its workflow, nodes in canonical order (`parents[i]` all < i)."""

    id: str
    instruction: str
    template: str | None
    types: list[str]
    workers: list[str | None]
    parents: list[list[int]]
    costs: list[float | None] = field(default_factory=list)
    latencies: list[float | None] = field(default_factory=list)
    success: bool | None = None
    choice_probs: list[float | None] = field(default_factory=list)  # propensity of each worker (format 1.1)


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
    )


SHOWN_IDS = 5  # ids named in a cut's message


@dataclass(frozen=True)
class Cut:
    """Logs of one kind the model cannot take whole; training and evaluation keep them, cut to its limits."""

    what: str        # "instructions" (longer than the encoder reads) or "workflows" (more sub-tasks than emitted)
    ids: list[str]
    total: int       # logs looked at
    limit: int
    setting: str     # the config setting that sets the limit

    @property
    def message(self) -> str:
        shown = ", ".join(self.ids[:SHOWN_IDS]) + (", …" if len(self.ids) > SHOWN_IDS else "")
        if self.what == "instructions":
            why = f"are longer than the encoder reads ({self.limit} tokens, {self.setting}) and are truncated"
        else:
            why = (f"have more than {self.limit} sub-tasks ({self.setting}); the model learns and plans the "
                   f"first {self.limit} only")
        return f"{len(self.ids)} of {self.total} {self.what} {why}: {shown}"


def cuts(examples: list[Example], token_counts: list[int], max_length: int, max_nodes: int) -> list[Cut]:
    """The logs whose instruction (`token_counts`, special tokens included) or workflow exceeds what the
    model takes; one Cut per kind that has any."""
    found = [Cut("instructions", [e.id for e, n in zip(examples, token_counts) if n > max_length], len(examples),
                 max_length, "encoder.max_length"),
             Cut("workflows", [e.id for e in examples if len(e.types) > max_nodes], len(examples), max_nodes,
                 "model.max_nodes")]
    return [cut for cut in found if cut.ids]


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


@dataclass(frozen=True)
class Skipped:
    """An invalid line of a log file that training or evaluation left out, and why."""

    line: int
    error: str

    @property
    def message(self) -> str:
        return f"line {self.line}: skipped: {self.error}"


def skipped_message(skipped: list[Skipped], shown: int = SHOWN_IDS) -> str:
    """One line saying how many invalid logs were left out, naming the first few with their reasons."""
    named = "; ".join(f"line {s.line}: {s.error}" for s in skipped[:shown])
    return f"{len(skipped)} invalid log(s) skipped: {named}" + ("; …" if len(skipped) > shown else "")


def load_examples(path: str | os.PathLike, skipped: list[Skipped] | None = None) -> list[Example]:
    """Examples from `training_data.json`, or from a log file (.jsonl, .jsonl.gz, .json array).

    Invalid log lines are left out and appended to `skipped` (line and reason), as import rejects
    them; without a `skipped` list the first one raises ValueError naming the line (strict).
    A file that is no log file at all raises NotALogFileError.
    """
    path = Path(path)
    if _is_training_json(path):
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        if not isinstance(data, dict) or data.get("format") != TRAINING_FORMAT:
            raise ValueError(f"{path}: not a training file (expected format {TRAINING_FORMAT!r})")
        return [Example(**e) for e in data["examples"]]
    examples = []
    for record in read_records(path):
        if record.error:
            if skipped is None:
                raise ValueError(f"{path}: line {record.line}: {record.error}")
            skipped.append(Skipped(record.line, record.error))
            continue
        examples.append(example_from_log(record.log))
    return examples


def examples_from_store(store, status: str | None = None) -> list[Example]:
    """Examples from the latest revision of every log in the store, optionally by review status."""
    return [example_from_log(log) for log in store.iter_logs(status=status)]
