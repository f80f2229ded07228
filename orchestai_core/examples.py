"""Training examples: what the planner learns from and is measured on, and what of them it cannot take.

A training example lists its sub-tasks in a canonical dependency order (parents before children, ties
in log order), so the decomposer can emit them one by one and every edge points backwards. The
conversions from logs, files and the store are in `training_data.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    statuses: list[str | None] = field(default_factory=list)  # success | failed | skipped | None (not recorded)


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
