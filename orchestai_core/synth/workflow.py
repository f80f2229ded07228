"""Workflow shapes: a template and its slot values unrolled into a DAG of typed steps.

Steps come out in a topological order fixed by the template and the order in which the instruction
names its items, so a planner can learn to emit them in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestai_core.synth.tasks import TASK_TYPES
from orchestai_core.synth.templates import Template


@dataclass(frozen=True)
class Step:
    """One sub-task to be: its type, what it works on, and the indices of the steps it needs."""

    type: str
    target: str
    parents: tuple[int, ...]

    @property
    def description(self) -> str:
        return TASK_TYPES[self.type].description.format(x=self.target)


def workflow_size(template: Template, n_items: int) -> int:
    """Number of steps `build_steps` gives for `template` with `n_items` branch items."""
    b = template.base
    return (len(b.prefix) + len(b.side) + n_items * len(b.branch) + (1 if b.merge else 0) + len(b.suffix)
            + sum(len(a.steps) for a in template.addons))


def _chain(steps: list[Step], types: tuple[str, ...], target: str, parents: list[int]) -> list[int]:
    """Append a chain of steps after `parents`; return the chain's end (or `parents` if empty)."""
    for t in types:
        steps.append(Step(t, target, tuple(parents)))
        parents = [len(steps) - 1]
    return parents


def build_steps(template: Template, subject: str, items: list[str], items_text: str) -> list[Step]:
    """Preparation chain → one branch per item (fan-out) → merge (fan-in) → closing chain → add-ons."""
    base, steps = template.base, []
    ends = _chain(steps, base.prefix, subject, [])
    side_ends = _chain(steps, base.side, subject, ends) if base.side else []
    if items:
        language = base.item_kind == "language"
        branch_ends = []
        for item in items:
            branch_ends += _chain(steps, base.branch, f"{subject} into {item}" if language else item, ends)
        ends = branch_ends
    ends = ends + side_ends
    if base.merge:
        ends = _chain(steps, (base.merge,), items_text or subject, ends)
    main_ends = _chain(steps, base.suffix, subject, ends)
    for addon in template.addons:
        _chain(steps, addon.steps, f"the results on {subject}", main_ends)
    return steps
