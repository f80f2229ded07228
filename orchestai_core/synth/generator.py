"""Generating synthetic execution logs from the templates (deterministic for a seed).

Each log draws its own random stream from (seed, index), so the first k logs of a corpus are the same
whatever its size, and another seed gives new instructions from the same templates.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from orchestai_core.catalogue import Catalogue, load_catalogue
from orchestai_core.dag import critical_path
from orchestai_core.synth.phrasing import AUDIENCES, PEOPLE, count_phrase, join_items, sentence
from orchestai_core.synth.policy import MODE_WEIGHTS, MODES, choose_worker
from orchestai_core.synth.simulate import simulate_step
from orchestai_core.synth.tasks import TASK_TYPES
from orchestai_core.synth.templates import ITEM_POOLS, TEMPLATES, Template

MAX_SUBTASKS = 40
ITEM_COUNTS = (2, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9)
EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)


@dataclass
class _Step:
    type: str
    target: str
    parents: list[int]


class _Workflow:
    """Steps under construction; `ends` are the steps nothing depends on yet."""

    def __init__(self) -> None:
        self.steps: list[_Step] = []

    def chain(self, types: tuple[str, ...], target: str, parents: list[int]) -> list[int]:
        """Append a chain of steps after `parents`; return the chain's end (or `parents` if empty)."""
        for t in types:
            self.steps.append(_Step(t, target, parents))
            parents = [len(self.steps) - 1]
        return parents


def _size(template: Template, n_items: int) -> int:
    b = template.base
    return (len(b.prefix) + len(b.side) + n_items * len(b.branch) + (1 if b.merge else 0) + len(b.suffix)
            + sum(len(a.steps) for a in template.addons))


def _items(template: Template, rng: random.Random) -> tuple[list[str], str]:
    """Branch targets and how the instruction names them (listed, or counted in words or digits)."""
    noun, pool = ITEM_POOLS[template.base.item_kind]
    fits = [n for n in ITEM_COUNTS if n <= len(pool) and _size(template, n) <= MAX_SUBTASKS]
    n = rng.choice(fits)
    names = rng.sample(pool, n)
    if noun is not None and rng.random() < 0.35:
        singular = noun[:-1]
        return [f"{singular} {k + 1}" for k in range(n)], count_phrase(n, noun, rng)
    return names, join_items(names, rng)


def _description(step_type: str, target: str) -> str:
    return TASK_TYPES[step_type].description.format(x=target)


def build_log(template: Template, index: int, seed: int, catalogue: Catalogue) -> dict:
    """One synthetic log for `template`, drawn from the random stream of (seed, index)."""
    rng = random.Random(f"orchestai-synth:{seed}:{index}")
    base = template.base
    subject = rng.choice(base.subjects)
    items, items_text = _items(template, rng) if base.item_kind else ([], "")
    ask = rng.choice(base.asks).format(subject=subject, items=items_text)
    clauses = [rng.choice(a.clauses).format(person=rng.choice(PEOPLE), audience=rng.choice(AUDIENCES))
               for a in template.addons]
    mode = rng.choices(MODES, MODE_WEIGHTS)[0]
    instruction = sentence(ask, clauses, mode, rng)

    flow = _Workflow()
    ends = flow.chain(base.prefix, subject, [])
    side_ends = flow.chain(base.side, subject, ends[:1] if ends else []) if base.side else []
    if items:
        language = base.item_kind == "language"
        branch_ends = []
        for item in items:
            target = f"{subject} into {item}" if language else item
            branch_ends += flow.chain(base.branch, target, ends)
        ends = branch_ends
    ends = ends + side_ends
    if base.merge:
        ends = flow.chain((base.merge,), items_text or subject, ends)
    ends = flow.chain(base.suffix, subject, ends)
    main_ends = ends
    for addon in template.addons:
        flow.chain(addon.steps, f"the results on {subject}", main_ends)

    subtasks, failed_or_skipped = [], set()
    for i, step in enumerate(flow.steps):
        worker, _ = choose_worker(step.type, mode, catalogue, rng)
        blocked = any(p in failed_or_skipped for p in step.parents)
        outcome = simulate_step(step.type, worker, blocked, rng)
        if outcome["status"] != "success":
            failed_or_skipped.add(i)
        subtasks.append({
            "id": f"s{i + 1}", "type": step.type, "description": _description(step.type, step.target),
            "worker": worker.name, "depends_on": [f"s{p + 1}" for p in step.parents], **outcome,
        })
    created = EPOCH + timedelta(seconds=rng.randrange(300 * 86400))
    return {
        "id": f"syn-s{seed}-{index:06d}",
        "instruction": instruction,
        "template": template.name,
        "source": "synthetic",
        "created_at": created.isoformat(),
        "success": not failed_or_skipped,
        "total_cost_usd": round(sum(s["cost_usd"] for s in subtasks), 6),
        "total_latency_ms": round(critical_path(subtasks)[1], 1),
        "subtasks": subtasks,
        "meta": {"domain": template.domain, "mode": mode},
    }


def generate_logs(n: int, seed: int, catalogue: Catalogue | None = None) -> Iterator[dict]:
    """Yield `n` spec-valid synthetic logs; the same (n, seed) always gives the same logs."""
    catalogue = catalogue or load_catalogue()
    picker = random.Random(f"orchestai-templates:{seed}")
    for index in range(n):
        yield build_log(picker.choice(TEMPLATES), index, seed, catalogue)
