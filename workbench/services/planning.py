"""Planning behind the Planner page: checkpoints, the cached planner, checked instructions, plans
turned into table rows, exported JSON and pending logs for curation."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st
import torch

from orchestai_core.checkpoints import CheckpointError, CheckpointFile, planner_checkpoints, preferred_index
from orchestai_core.dag import Graph
from orchestai_core.default_planner import read_quality
from orchestai_core.evaluate import score
from orchestai_core.planner_api import Planner
from orchestai_core.schema import LogError, validate_log
from orchestai_core.store import Store

MAX_INSTRUCTION_CHARS = 2000
SOURCE = "planner"
INFERENCE_THREADS = 1
EXAMPLES = (
    "Summarize board_minutes.pdf and translate the summary into French and German.",
    "Find the root cause of the timezone bug in reports and fix it, with tests.",
    "Caption the five product images, tag them, and save everything to the shared drive.",
    "Research the market for plant-based snacks in two regions, then make a short deck for the board.",
    "Query the warehouse for weekly active users and post a summary to the team channel.",
    "Transcribe episode 12 of the podcast, write show notes and email them to the whole team.",
)
SUBTASK_KEYS = ("id", "type", "worker", "depends_on")  # what a log keeps of a planned step
BEAM_CHOICES = (None, 1, 2, 3, 5, 8)  # None: the checkpoint's own `model.beam`


class InstructionError(ValueError):
    """An instruction the planner page refuses (empty, blank, too long); the message says which."""


@dataclass
class Planned:
    """A plan and how long the planner took to make it (wall time of the call, in ms)."""

    plan: dict
    ms: float


def check_instruction(text: str | None) -> str:
    """The instruction without surrounding blanks, or InstructionError with a one-line reason."""
    text = (text or "").strip()
    if not text:
        raise InstructionError("The instruction is empty: type what the workflow should do.")
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise InstructionError(f"The instruction is {len(text):,} characters long; at most "
                               f"{MAX_INSTRUCTION_CHARS:,} are accepted: shorten it.")
    return text


# ----------------------------------------------------------------- checkpoints and the planner
def checkpoint_root(config: dict) -> Path:
    return Path(config["paths"]["checkpoints"])


def default_checkpoint(checkpoints: list[CheckpointFile]) -> int:
    """The picker's preselection (`checkpoints.preferred_index`; 0 for an empty list)."""
    index = preferred_index(checkpoints)
    return 0 if index is None else index


def list_checkpoints(config: dict) -> list[CheckpointFile]:
    """Every checkpoint under `paths.checkpoints`, newest first, then the bundled planner (if it is there)."""
    return planner_checkpoints(checkpoint_root(config), config["paths"].get("default_planner"))


QUALITY_NAMES = {"node_f1": "node-F1", "edge_f1": "edge-F1", "exact_match": "exact match",
                 "worker_accuracy": "worker accuracy", "dag_validity": "DAG validity"}
POOR_NODE_F1 = 0.5  # below this a planner's steps are mostly wrong: said plainly where it is shown


@dataclass(frozen=True)
class Quality:
    """What a planner scored on logs it never trained on, and on which."""

    metrics: dict
    source: str
    baseline: dict | None = None

    @property
    def poor(self) -> bool:
        return (self.metrics.get("node_f1") or 0.0) < POOR_NODE_F1

    @property
    def caption(self) -> str:
        figures = " · ".join(f"{name} {self.metrics[k]:.2f}" for k, name in QUALITY_NAMES.items()
                             if self.metrics.get(k) is not None)
        text = f"Held-out quality ({self.source}): {figures}"
        if self.baseline:
            text += (f"; copying the nearest training plan: node-F1 {self.baseline['node_f1']:.2f} · "
                     f"edge-F1 {self.baseline['edge_f1']:.2f}")
        return text


def planner_quality(checkpoint: CheckpointFile, planner: Planner) -> Quality | None:
    """The bundled planner's figures on the fixed held-out sample; a trained checkpoint's validation
    figures at its best epoch (its held-out split, greedy decoding); None when it recorded none."""
    if checkpoint.kind == "bundled":
        measured = read_quality(checkpoint.path)
        if measured is not None:
            return Quality(measured["metrics"], f"{measured['logs']} fresh synthetic logs: {measured['data']}",
                           measured.get("baseline"))
    best = planner.validation
    if best is None:
        return None
    return Quality({k: best.get(k) for k in QUALITY_NAMES},
                   f"its {len(planner.val_ids)} validation logs at its best epoch {best['epoch']}, greedy")


@st.cache_resource(show_spinner="Loading the planner…", max_entries=4)
def _load(path: str, modified: float) -> Planner:
    # One instruction at a time gains nothing from intra-op threads, and their barriers stall for
    # hundreds of ms when a training run shares the CPU; one thread keeps a plan in a few ms.
    torch.set_num_threads(INFERENCE_THREADS)
    planner = Planner.load(path, "auto")
    planner.plan(EXAMPLES[0])  # the first call pays torch's one-time setup: here, not on the first click
    return planner


def get_planner(path: str | os.PathLike) -> Planner:
    """The planner of a checkpoint, loaded once per file version (a rewritten file loads again)."""
    try:
        modified = Path(path).stat().st_mtime
    except OSError:
        raise CheckpointError(f"{path}: no such checkpoint (removed since the list was read?)") from None
    return _load(str(path), modified)


def chooses_workers(checkpoints) -> bool:
    """Whether any of these checkpoints' planners chooses workers: one trained on logs that assign none plans
    steps and links only, and no weight or budget changes its plans."""
    return any(get_planner(c.path).plans_workers for c in checkpoints)


NO_CHOICE = ("This planner chooses no worker (its training logs assign none): the weights and budgets below do "
             "not apply to its plans.")


# ----------------------------------------------------------------- plans
def plan_id_for(text: str) -> str:
    """A stable id for the plan of an instruction."""
    return "plan-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def beam_label(beam: int | None) -> str:
    """How the Planner page names a decoding width, in its selector and on a plan's badge."""
    if beam is None:
        return "as trained (the checkpoint's beam)"
    return "greedy decoding" if beam == 1 else f"beam {beam}"


def plan_instruction(planner: Planner, text: str, cost_weight: float = 0.0, beam: int | None = None,
                     latency_weight: float = 0.0, budget_usd: float | None = None,
                     budget_latency_ms: float | None = None) -> Planned:
    """Plan a checked instruction, with the time the planner took; `beam` overrides the checkpoint's width,
    the weights and budgets drive the worker selection (`Planner.plan`)."""
    plan = planner.plan(text, cost_weight=cost_weight, plan_id=plan_id_for(text), beam=beam,
                        latency_weight=latency_weight, budget_usd=budget_usd, budget_latency_ms=budget_latency_ms)
    return Planned(plan, plan["meta"]["planning_ms"])


def alternatives(task: dict) -> list[tuple[str, float]]:
    """(worker, probability) of the workers after the chosen one, most likely first (the selector's)."""
    probs = sorted((task.get("worker_probs") or {}).items(), key=lambda kv: -kv[1])
    return [(w, p) for w, p in probs if w != task.get("worker")]


def outcome_alternatives(task: dict) -> list[str]:
    """The other workers allowed on the step with their predicted success and cost, likeliest to succeed
    first ("gpt-4o (96%, $0.0113)"); empty without an outcome model."""
    return [f"{w} ({o['p_success']:.0%}, {usd(o['est_cost_usd'])})"
            for w, o in (task.get("worker_outcomes") or {}).items() if w != task.get("worker")]


def subtask_rows(plan: dict) -> list[dict]:
    """One table row per planned step: worker, its predicted success (with an outcome model), the training
    logs' runs of that worker on the step's type behind it, the selector's probability for it, the next two
    workers, the estimates."""
    path = set(plan.get("critical_path") or [])
    rows = []
    for task in plan["subtasks"]:
        others = outcome_alternatives(task) or [f"{w} ({p:.0%})" for w, p in alternatives(task)]
        rows.append({
            "step": task["id"], "type": task["type"], "worker": task.get("worker"),
            "p(success)": task.get("p_success"),
            "runs": ((task.get("worker_outcomes") or {}).get(task.get("worker")) or {}).get("logged_runs"),
            "probability": (task.get("worker_probs") or {}).get(task.get("worker")),
            "alternative 1": others[0] if others else "—", "alternative 2": others[1] if len(others) > 1 else "—",
            "depends on": ", ".join(task.get("depends_on") or []),
            "est. cost (USD)": task.get("est_cost_usd"), "est. latency (ms)": task.get("est_latency_ms"),
            "critical path": task["id"] in path,
        })
    return rows


def usd(amount: float | None) -> str:
    """Dollars with enough decimals that a fraction of a cent still shows ($0.000040, $0.0123); "—" for no
    estimate."""
    if amount is None:
        return "—"
    return f"${amount:.6f}" if abs(amount) < 0.01 else f"${amount:.4f}"


def selection_caption(plan: dict) -> str:
    """How the plan's workers were chosen, in a line."""
    meta = plan.get("meta") or {}
    if meta.get("selection") == "none":
        return "No workers chosen: this checkpoint's training logs assign none, so it plans the steps and their links."
    if meta.get("selection") == "outcome":
        text = (f"Workers chosen by predicted outcome: success − {meta.get('cost_weight', 0):g} × relative cost − "
                f"{meta.get('latency_weight', 0):g} × relative latency")
    else:
        text = "Workers chosen by imitation of the logged choices (Phase 1), lowered by the cost weight"
    if meta.get("selection_note"):
        text += f" ({meta['selection_note']})"
    return text + "."


def budget_problem(plan: dict) -> str | None:
    """Why the plan breaks its budgets (no plan could meet them), or None when it keeps them or has none."""
    budget = (plan.get("meta") or {}).get("budget")
    if not budget or budget.get("feasible", True):
        return None
    return "; ".join(budget.get("violations") or ["a budget cannot be met"])


def path_cost(plan: dict) -> float:
    """Estimated cost of the steps on the critical path."""
    path = set(plan.get("critical_path") or [])
    return sum(float(t.get("est_cost_usd") or 0.0) for t in plan["subtasks"] if t["id"] in path)


def dag_problem(plan: dict) -> str | None:
    """Why the plan's steps do not form a valid DAG (unknown or cyclic dependencies), or None."""
    try:
        validate_log({"id": plan.get("id") or "plan", "instruction": plan.get("instruction") or "-",
                      "subtasks": [{k: t[k] for k in SUBTASK_KEYS if k in t} for t in plan["subtasks"]]})
    except LogError as exc:
        return str(exc)
    return None


def graph_of(plan: dict) -> Graph:
    """The plan as a (types, workers, parents) graph, for comparing plans with the plan metrics."""
    index = {t["id"]: i for i, t in enumerate(plan["subtasks"])}
    return Graph([t["type"] for t in plan["subtasks"]], [t.get("worker") for t in plan["subtasks"]],
                 [[index[d] for d in t.get("depends_on") or [] if d in index] for t in plan["subtasks"]])


def agreement(a: dict, b: dict) -> dict:
    """How far plan `b` agrees with plan `a`: node-F1, edge-F1 and workers on steps matched by type."""
    s = score(graph_of(b), graph_of(a))
    same_types = Counter(t["type"] for t in a["subtasks"]) == Counter(t["type"] for t in b["subtasks"])
    return {"node_f1": s["node_f1"], "edge_f1": s["edge_f1"], "same_steps": same_types,
            "same_workers": s["worker_hits"], "matched": s["worker_total"]}


def optional_budget(value: float | None) -> float | None:
    """A budget input as the planner takes it: 0 or empty means no budget."""
    return value if value else None


def export_json(plan: dict, checkpoint: str, cost_weight: float) -> str:
    """The plan as a JSON document in the spec's plan format, with how it was made under `meta`."""
    exported = copy.deepcopy(plan)
    exported.setdefault("meta", {}).update(checkpoint=checkpoint, cost_weight=cost_weight)
    return json.dumps(exported, ensure_ascii=False, indent=2)


# ----------------------------------------------------------------- curation
def curation_log(plan: dict, checkpoint: str, cost_weight: float) -> dict:
    """A valid log of the plan for annotators: steps without outcomes, plan-only figures under `meta`."""
    now = datetime.now(UTC)
    log = {
        "id": f"planner-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}",
        "instruction": plan["instruction"],
        "source": SOURCE,
        "created_at": now.isoformat(timespec="seconds"),
        "subtasks": [{k: copy.deepcopy(t[k]) for k in SUBTASK_KEYS if k in t} for t in plan["subtasks"]],
        "meta": {"planner": {
            "checkpoint": checkpoint, "cost_weight": cost_weight, "plan_id": plan.get("id"),
            "beam": plan.get("meta", {}).get("beam"),  # how the plan was decoded (1 = greedy)
            "est_cost_usd": plan.get("est_cost_usd"), "est_latency_ms": plan.get("est_latency_ms"),
            "critical_path": plan.get("critical_path"),
            "steps": {t["id"]: {k: t[k] for k in ("worker_probs", "est_cost_usd", "est_latency_ms") if k in t}
                      for t in plan["subtasks"]},
        }},
    }
    return validate_log(log)


def send_to_curation(store: Store, plan: dict, checkpoint: str, cost_weight: float) -> str:
    """Store the plan as a new pending log (source `planner`); return its id."""
    log = curation_log(plan, checkpoint, cost_weight)
    store.logs.add([log])
    return log["id"]
