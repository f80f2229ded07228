"""Generating synthetic execution logs from the templates (deterministic for a seed).

Each log draws its own random stream from (seed, index), so the first k logs of a corpus are the same
whatever its size, and another seed gives new instructions from the same templates. Templates are dealt
in shuffled rounds, so every block of len(TEMPLATES) logs uses each template once. The request (wording,
workflow, difficulty, date) and its run (workers chosen, outcomes) draw from two streams of (seed, index),
so a change to the simulated run leaves the requests as they are.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from orchestai_core.catalogue import Catalogue, load_catalogue
from orchestai_core.dag import critical_path
from orchestai_core.synth.difficulty import draw_difficulty
from orchestai_core.synth.phrasing import compose, items_phrase
from orchestai_core.synth.policy import MODE_WEIGHTS, MODES, LoggingPolicy
from orchestai_core.synth.simulate import simulate_step
from orchestai_core.synth.slots import AUDIENCES, ITEM_POOLS, PEOPLE
from orchestai_core.synth.templates import TEMPLATES, Template
from orchestai_core.synth.workflow import Step, build_steps, workflow_size

MAX_SUBTASKS = 40
ITEM_COUNTS = (2, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10)
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)


def _items(template: Template, rng: random.Random) -> tuple[list[str], str]:
    """Branch targets and how the instruction names them (listed, counted in words or digits, or both)."""
    pool = ITEM_POOLS[template.base.item_kind]
    fits = [n for n in ITEM_COUNTS if n <= len(pool.names) and workflow_size(template, n) <= MAX_SUBTASKS]
    names = rng.sample(pool.names, rng.choice(fits))
    text, counted_only = items_phrase(names, pool.noun, pool.countable, rng)
    if counted_only:
        return [f"{pool.noun[:-1]} {k + 1}" for k in range(len(names))], text
    return names, text


def _instruction(template: Template, subject: str, items_text: str, mode: str, rng: random.Random) -> str:
    base = template.base
    statement = bool(base.statements) and rng.random() < 0.25
    ask = rng.choice(base.statements if statement else base.asks).format(subject=subject, items=items_text)
    clauses = [rng.choice(a.clauses).format(person=rng.choice(PEOPLE), audience=rng.choice(AUDIENCES))
               for a in template.addons]
    return compose(ask, statement, clauses, mode, rng)


def _execute(steps: list[Step], mode: str, difficulty: float, policy: LoggingPolicy,
             rng: random.Random) -> list[dict]:
    """Subtask records: the logging policy's worker (with its probability) and the simulated outcome of each
    step, in order."""
    subtasks, not_done = [], set()
    for i, step in enumerate(steps):
        worker, prob = policy.choose(step.type, mode, rng)
        outcome = simulate_step(step.type, worker, difficulty, any(p in not_done for p in step.parents), rng)
        if outcome["status"] != "success":
            not_done.add(i)
        subtasks.append({"id": f"s{i + 1}", "type": step.type, "description": step.description,
                         "worker": worker.name, "choice_prob": prob, "depends_on": [f"s{p + 1}" for p in step.parents],
                         **outcome})
    return subtasks


def build_log(template: Template, index: int, seed: int, catalogue: Catalogue | LoggingPolicy) -> dict:
    """One synthetic log for `template`, drawn from the random streams of (seed, index)."""
    policy = catalogue if isinstance(catalogue, LoggingPolicy) else LoggingPolicy(catalogue)
    rng = random.Random(f"orchestai-synth:{seed}:{index}")
    base = template.base
    subject = rng.choice(base.subjects)
    items, items_text = _items(template, rng) if base.item_kind else ([], "")
    mode = rng.choices(MODES, MODE_WEIGHTS)[0]
    instruction = _instruction(template, subject, items_text, mode, rng)
    difficulty = draw_difficulty(template.domain, mode, len(items), rng)
    created = EPOCH + timedelta(seconds=rng.randrange(300 * 86400))

    run = random.Random(f"orchestai-synth-run:{seed}:{index}")
    subtasks = _execute(build_steps(template, subject, items, items_text), mode, difficulty, policy, run)
    return {
        "id": f"syn-s{seed}-{index:06d}",
        "instruction": instruction,
        "template": template.name,
        "source": "synthetic",
        "created_at": created.isoformat(),
        "success": all(s["status"] == "success" for s in subtasks),
        "total_cost_usd": round(sum(s["cost_usd"] for s in subtasks), 6),
        "total_latency_ms": round(critical_path(subtasks)[1], 1),
        "subtasks": subtasks,
        "meta": {"domain": template.domain, "mode": mode, "difficulty": difficulty},
    }


def generate_logs(n: int, seed: int, catalogue: Catalogue | None = None) -> Iterator[dict]:
    """Yield `n` spec-valid synthetic logs; the same (n, seed) always gives the same logs."""
    policy = LoggingPolicy(catalogue or load_catalogue())
    picker = random.Random(f"orchestai-templates:{seed}")
    deck: list[Template] = []
    for index in range(n):
        if not deck:
            deck = list(TEMPLATES)
            picker.shuffle(deck)
        yield build_log(deck.pop(), index, seed, policy)
