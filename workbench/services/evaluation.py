"""Evaluation behind the Evaluate page: datasets of gold plans, a background job with progress, and
its report cut into the tables the page shows (metrics against targets, templates, worst cases)."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field

from orchestai_core.dag import Graph
from orchestai_core.evaluate import PREFERRED, Case, evaluate_planner
from orchestai_core.examples import Example, Skipped, skipped_message
from orchestai_core.ingest import UnreadableFileError, read_records
from orchestai_core.outcomes.report import PolicyReport, has_outcome_model, policy_report
from orchestai_core.store import LogFilter, Store
from orchestai_core.training_data import example_from_log, valid_logs
from workbench.services.transfer import upload_suffix

DATASETS = {
    "held_out": "held-out logs of the checkpoint's run",
    "accepted": "accepted logs",
    "upload": "an uploaded JSONL file",
}
METRICS = {
    "dag_validity": "DAG validity",
    "node_f1": "Node-F1 (decomposition)",
    "edge_f1": "Edge-F1 (dependencies)",
    "exact_match": "Exact match",
    "worker_accuracy": "Worker accuracy (selection)",
}
OWN_CHOICES = "worker_accuracy_preferred"  # on logs that record choice_prob (`orchestai_core.evaluate`)
OWN_CHOICES_LABEL = f"Worker accuracy on the logging policy's own choices (choice_prob > {PREFERRED})"
TARGETS = {  # the original report's targets: (lowest acceptable, top of the expected range or None)
    "dag_validity": (0.95, None),
    "worker_accuracy": (0.75, 0.85),
    "node_f1": (0.70, 0.85),
}


POLICY_BOOTSTRAP = 200  # resamples per interval of the off-policy section


class DatasetError(ValueError):
    """A dataset that cannot be evaluated on (empty, unreadable, invalid line); one line saying why."""


# ----------------------------------------------------------------- datasets
def held_out_logs(store: Store, planner, limit: int) -> list[dict]:
    """The checkpoint's own validation logs, as the store has them now; for a checkpoint that does not
    list them, the logs (not rejected) whose instruction it did not train on."""
    if getattr(planner, "val_ids", None):
        logs = list(store.logs.iterate(flt=LogFilter(ids=planner.val_ids[:limit])))
        if not logs:
            raise DatasetError("None of this checkpoint's validation logs is in the store: pick another dataset.")
        return logs
    trained = {p["instruction"] for p in getattr(planner, "train_plans", None) or []}
    if not trained:
        raise DatasetError("This checkpoint does not list the logs it trained on: pick another dataset.")
    logs = []
    for log in store.logs.iterate(flt=LogFilter(not_review_status="rejected")):
        if len(logs) >= limit:
            break
        if log["instruction"] not in trained:
            logs.append(log)
    if not logs:
        raise DatasetError("Every log in the store was used to train this checkpoint: there is nothing held out.")
    return logs


def held_out_examples(store: Store, planner, limit: int) -> list[Example]:
    return [example_from_log(log) for log in held_out_logs(store, planner, limit)]


def accepted_logs(store: Store, limit: int) -> list[dict]:
    """The accepted logs (reviewed gold plans), in store order."""
    logs = []
    for log in store.logs.iterate(status="accepted"):
        if len(logs) >= limit:
            break
        logs.append(log)
    if not logs:
        raise DatasetError("There are no accepted logs yet: review some on the Logs page, or pick another dataset.")
    return logs


def accepted_examples(store: Store, limit: int) -> list[Example]:
    return [example_from_log(log) for log in accepted_logs(store, limit)]


def uploaded_logs(name: str, data: bytes, limit: int, fmt: str = "log",
                  skipped: list[Skipped] | None = None) -> list[dict]:
    """Gold plans from an uploaded file of `fmt` (a log file, or TaskBench rows). Invalid lines are left out
    and appended to `skipped` (line and reason), as training does; without a `skipped` list the first one
    refuses the file, naming the line."""
    try:
        suffix = upload_suffix(name)
    except ValueError as exc:
        raise DatasetError(str(exc)) from None
    fd, tmp = tempfile.mkstemp(prefix="orchestai-eval-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        logs = []
        for log in valid_logs(read_records(tmp, fmt=fmt, name=name), name, skipped):
            if len(logs) < limit:
                logs.append(log)
    except UnreadableFileError as exc:
        raise DatasetError(str(exc).replace(tmp, name)) from None
    except ValueError as exc:  # an invalid line, with no `skipped` list to take it
        raise DatasetError(str(exc)) from None
    except zlib.error as exc:  # a damaged gzip stream: read_records lets this one through
        raise DatasetError(f"{name}: cannot read ({exc})") from None
    finally:
        os.unlink(tmp)
    if not logs:
        reason = f" ({skipped_message(skipped)})" if skipped else ""
        raise DatasetError(f"{name}: no logs to evaluate on{reason}")
    return logs


def uploaded_examples(name: str, data: bytes, limit: int, fmt: str = "log",
                      skipped: list[Skipped] | None = None) -> list[Example]:
    return [example_from_log(log) for log in uploaded_logs(name, data, limit, fmt, skipped)]


def dataset_logs(kind: str, store: Store, planner, limit: int, upload: tuple[str, bytes] | None = None,
                 fmt: str = "log", skipped: list[Skipped] | None = None) -> list[dict]:
    """The logs of one of DATASETS; `upload` is the (file name, content) of an uploaded file of `fmt`, whose
    invalid lines go to `skipped` (see `uploaded_logs`)."""
    if kind == "held_out":
        return held_out_logs(store, planner, limit)
    if kind == "accepted":
        return accepted_logs(store, limit)
    if kind != "upload":
        raise ValueError(f"unknown dataset {kind!r}")
    if upload is None:
        raise DatasetError("Choose a log file to upload first.")
    return uploaded_logs(*upload, limit, fmt, skipped)


def dataset_examples(kind: str, store: Store, planner, limit: int,
                     upload: tuple[str, bytes] | None = None) -> list[Example]:
    """The examples of one of DATASETS (see `dataset_logs`)."""
    return [example_from_log(log) for log in dataset_logs(kind, store, planner, limit, upload)]


# ----------------------------------------------------------------- the job
@dataclass
class EvaluationReport:
    """Metrics of one checkpoint on one dataset, with every case for error analysis."""

    checkpoint: str
    dataset: str
    metrics: dict
    baseline: dict
    cases: list[Case] = field(repr=False)
    seconds: float = 0.0
    cut: list[str] = field(default_factory=list)  # what of the dataset the planner could not take whole
    policy: PolicyReport | None = None  # off-policy estimates of the outcome model's worker selection
    policy_note: str | None = None      # why there are none
    consensus: str | None = None        # the planner's consensus decoding, in words (None: a planner without)
    unfamiliar: dict | None = None      # how many logs are unlike the planner's training requests (`unfamiliar_share`)


class EvaluationJob:
    """One evaluation, run in a background thread (`start`) or in the caller's (`run`)."""

    BATCH = 32

    def __init__(self, planner, examples: list[Example], checkpoint: str, dataset: str,
                 logs: list[dict] | None = None, cost_weight: float = 0.0, latency_weight: float = 0.0):
        self.planner, self.examples, self.logs = planner, examples, logs
        self.cost_weight, self.latency_weight = cost_weight, latency_weight
        self.checkpoint, self.dataset = checkpoint, dataset
        self.done, self.total = 0, len(examples)
        self.phase = "queued"
        self.report: EvaluationReport | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self.run, name="orchestai-evaluation", daemon=True)

    def start(self) -> EvaluationJob:
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a started job; True once it has finished."""
        self._thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        return self.report is None and self.error is None

    @property
    def fraction(self) -> float:
        """Progress from 0 to 1: planning the logs, then the nearest-neighbour baseline (the last tenth)."""
        if not self.running:
            return 1.0
        return 0.9 * self.done / max(self.total, 1) + (0.05 if self.phase == "baseline" else 0.0)

    def status(self) -> str:
        if self.phase == "baseline":
            return f"Planned {self.total:,} logs; computing the nearest-neighbour baseline…"
        if self.phase == "off-policy":
            return "Estimating the outcome model's worker selection off-policy…"
        return f"Planning log {self.done:,} of {self.total:,}…"

    def _policy(self) -> tuple[PolicyReport | None, str | None]:
        """The off-policy report, or why there is none."""
        if not has_outcome_model(self.planner):
            return None, "This checkpoint's training saw no logged outcome: it has no outcome model to evaluate."
        if self.logs is None:
            return None, "The dataset holds no logs with outcomes."
        try:
            return policy_report(self.planner, self.logs, self.cost_weight, self.latency_weight,
                                 n_bootstrap=POLICY_BOOTSTRAP), None
        except ValueError as exc:
            return None, f"No off-policy estimates: {exc}."

    def _progress(self, done: int, total: int) -> None:
        self.done = done
        if done >= total:  # every log planned: the nearest-neighbour baseline comes next
            self.phase = "baseline"

    def run(self) -> None:
        began = time.perf_counter()
        try:
            self.phase = "planning"
            cases: list[Case] = []
            metrics = evaluate_planner(self.planner, self.examples, self.BATCH, self._progress, cases)
            baseline, cut, unfamiliar = metrics.pop("baseline"), metrics.pop("cut"), metrics.pop("unfamiliar")
            self.phase = "off-policy"
            policy, note = self._policy()
            consensus = getattr(self.planner, "consensus", None)  # a stand-in planner (tests) may have none
            order = getattr(self.planner, "order_note", None)
            self.report = EvaluationReport(self.checkpoint, self.dataset, metrics, baseline, cases,
                                           time.perf_counter() - began, cut, policy, note,
                                           consensus and consensus.describe() + (f"; step order {order}" if order
                                                                                 else ""), unfamiliar)
        except Exception as exc:  # the thread has no caller: the page shows what went wrong
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        finally:
            self.phase = "finished"


# ----------------------------------------------------------------- tables of the report
def target_text(metric: str) -> str:
    low, high = TARGETS.get(metric, (None, None))
    if low is None:
        return "—"
    return f"≥ {low:.0%}" if high is None else f"{low:.0%}–{high:.0%}"


def metrics_rows(report: EvaluationReport) -> list[dict]:
    """Each metric for the model and the baseline, beside the report's target and whether it is met."""
    rows = []
    for key, label in METRICS.items():
        value, low = report.metrics.get(key), TARGETS.get(key, (None,))[0]
        met = None if low is None or value is None else value >= low
        rows.append({"metric": label, "model": value, "nearest-neighbour baseline": report.baseline.get(key),
                     "target": target_text(key), "meets target": {True: "✓ yes", False: "✗ no"}.get(met, "—")})
    if report.metrics.get(OWN_CHOICES) is not None:  # logs that record choice_prob: explorations left out
        rows.append({"metric": OWN_CHOICES_LABEL, "model": report.metrics[OWN_CHOICES],
                     "nearest-neighbour baseline": report.baseline.get(OWN_CHOICES), "target": "—",
                     "meets target": "—"})
    return rows


def template_rows(report: EvaluationReport) -> list[dict]:
    """Per template, worst first: error (1 − exact match), then the other metrics."""
    rows = [{"template": template, "logs": m["n"], "error": 1 - m["exact_match"], "node-F1": m["node_f1"],
             "edge-F1": m["edge_f1"], "worker accuracy": m["worker_accuracy"]}
            for template, m in report.metrics["per_template"].items()]
    return sorted(rows, key=lambda r: (-r["error"], r["node-F1"], r["template"]))


def confusion_table(report: EvaluationReport) -> tuple[list[str], list[str], list[list[int]]]:
    """(gold workers, predicted workers, counts[gold][predicted]) of the worker confusion matrix."""
    matrix = report.metrics["worker_confusion"]
    gold = sorted(matrix)
    predicted = sorted({p for row in matrix.values() for p in row} | set(gold))
    return gold, predicted, [[matrix[g].get(p, 0) for p in predicted] for g in gold]


def worst_cases(report: EvaluationReport, n: int = 10) -> list[Case]:
    """The cases furthest from their gold plan: not exact, then lowest node-F1 + edge-F1, then workers."""
    def badness(case: Case) -> tuple:
        s = case.scores
        workers = s["worker_hits"] / s["worker_total"] if s["worker_total"] else 1.0
        return (s["exact_match"], s["node_f1"] + s["edge_f1"], workers, case.id)
    return sorted(report.cases, key=badness)[:n]


def case_rows(cases: list[Case]) -> list[dict]:
    """A table row per case: its scores first, the instruction last (it is the longest)."""
    return [{"log": c.id, "template": c.template, "node-F1": c.scores["node_f1"], "edge-F1": c.scores["edge_f1"],
             "workers right": f"{c.scores['worker_hits']} of {c.scores['worker_total']}",
             "instruction": c.instruction} for c in cases]


def graph_subtasks(graph: Graph) -> list[dict]:
    """A graph as subtasks (`s1`, `s2`, … in its order) for the DAG view."""
    return [{"id": f"s{i + 1}", "type": t, "worker": w, "depends_on": [f"s{p + 1}" for p in parents]}
            for i, (t, w, parents) in enumerate(zip(graph.types, graph.workers, graph.parents))]


# ----------------------------------------------------------------- off-policy tables
POLICY_METRICS = {"success": "success rate", "cost": "cost $ per step", "latency": "latency ms per step"}


def _cell(value: float) -> float | None:
    return None if value != value else value  # NaN (an undefined estimate) shows as empty


def policy_rows(policy: PolicyReport) -> list[dict]:
    """Per metric and estimator, the learned policy's estimate and interval; the logging policy's own mean
    and interval on the "logging policy" rows."""
    rows = []
    for metric, estimates in policy.estimates.items():
        for row in estimates:
            rows.append({"metric": POLICY_METRICS[metric],
                         "policy": "logging policy" if row.estimator == "logged" else "learned",
                         "estimator": "logged mean" if row.estimator == "logged" else row.estimator.upper(),
                         "estimate": _cell(row.estimate), "95 % low": _cell(row.low), "95 % high": _cell(row.high)})
    return rows


def curve_series(policy: PolicyReport) -> dict[str, list]:
    """The cost-weight sweep (kind "weight") and the reference points, as plain lists for a chart."""
    def pick(points):
        return {"label": [p.label for p in points], "cost": [p.cost.estimate for p in points],
                "cost_low": [p.cost.low for p in points], "cost_high": [p.cost.high for p in points],
                "success": [p.success.estimate for p in points], "success_low": [p.success.low for p in points],
                "success_high": [p.success.high for p in points], "kind": [p.kind for p in points],
                "effective_steps": [p.effective_steps for p in points]}
    points = policy.curve.points
    return {"sweep": pick([p for p in points if p.kind == "weight"]),
            "references": pick([p for p in points if p.kind != "weight"])}
