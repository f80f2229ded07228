"""Off-policy report of a planner's outcome model on held-out logs: what `orchestai eval --policy outcome`
prints and the Evaluate page shows.

The planner predicts, teacher-forced on each log's own workflow, every worker's success, cost and latency at
every step (`Planner.predict_outcomes`). On the executed steps those predictions are the reward models of
the doubly robust estimator and the learned policy's inputs: utility selection at a cost and latency weight.
The report sets that policy against the logging policy (IPS, SNIPS and DR, with bootstrap intervals),
measures the calibration of the predicted success of the worker that ran, and sweeps the cost weight into
a cost–quality curve beside every single worker, a random choice and the logging policy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from orchestai_core.dag import topological_order
from orchestai_core.outcomes.calibration import Calibration, logged_calibration
from orchestai_core.outcomes.estimators import (
    IPS,
    SNIPS,
    DoublyRobust,
    EstimateRow,
    Estimator,
    effective_sample_size,
)
from orchestai_core.outcomes.policy_eval import (
    DEFAULT_WEIGHTS,
    METRICS,
    CostQualityCurve,
    LoggedOutcomes,
    LoggedSteps,
    cost_quality_curve,
    logged_outcomes,
    logged_value,
    model_policy,
    steps_from_logs,
)
from orchestai_core.training_data import example_from_log

ESTIMATORS = (IPS(), SNIPS(), DoublyRobust())
LOGGED_KEYS = {"cost": "cost_usd", "latency": "latency_ms"}
# Below this many effective logged steps a success rate's 95 % interval is about ±10 points wide or more
# (at p = 0.5: 1.96·sqrt(0.25/100) ≈ 0.098): the report says so.
THIN_EFFECTIVE_STEPS = 100


def has_outcome_model(planner) -> bool:
    """Whether the planner's outcome model learnt from logged outcomes (`Planner.has_outcomes`); a
    checkpoint whose training saw none predicts nothing worth evaluating."""
    if not callable(getattr(planner, "predict_outcomes", None)):
        return False
    return bool(getattr(planner, "has_outcomes", True))


@dataclass(frozen=True)
class StepPredictions:
    """The executed steps of the logs that the planner predicted for, with its n×k predictions (rows in the
    steps' order), where each step came from (log index, subtask index), and what was left out: steps
    that did not run (`skipped_steps`) and executed steps beyond the nodes the planner takes
    (`uncovered_steps`)."""

    steps: LoggedSteps
    positions: list[tuple[int, int]]
    p: np.ndarray
    cost: np.ndarray
    latency: np.ndarray
    allowed: np.ndarray
    skipped_steps: int
    uncovered_steps: int
    imputed: dict[str, int] = field(default_factory=dict)  # per metric, steps whose logged value was missing
    choose: np.ndarray | None = None  # the success the planner's selection ranks by (None: p itself)


def _skipped(logs: Sequence[dict]) -> int:
    return sum(1 for log in logs for task in log["subtasks"]
               if task.get("status") not in ("success", "failed") or not task.get("worker"))


def step_predictions(planner, logs: Sequence[dict], batch_size: int = 64) -> StepPredictions:
    """The planner's predictions for every executed step of `logs` (valid logs in the log format).
    An executed step without cost_usd or latency_ms (both optional in the format) gets the outcome model's
    prediction for its worker instead, counted in `imputed`. ValueError when a log names a worker the
    planner does not know, or no step ran."""
    steps, positions = steps_from_logs(logs, list(planner.worker_names), may_lack=("cost_usd", "latency_ms"))
    predicted = planner.predict_outcomes([example_from_log(log) for log in logs], batch_size=batch_size)
    if len(predicted) != len(logs):
        raise ValueError(f"the planner returned predictions for {len(predicted)} of {len(logs)} logs")
    canonical = {}
    for li, log in enumerate(logs):
        for new, old in enumerate(topological_order(log["subtasks"])):
            canonical[(li, old)] = new
    keep, rows = [], {"p": [], "cost": [], "latency": [], "allowed": [], "choose": []}
    ranks = all(getattr(outcome, "p_choose", None) is not None for outcome in predicted)
    for index, (li, si) in enumerate(positions):
        node, outcome = canonical[(li, si)], predicted[li]
        if node >= len(outcome.p_success) or np.isnan(outcome.p_success[node]).any():
            continue  # beyond the nodes the planner takes (model.max_nodes): no prediction
        keep.append(index)
        for name, values in (("p", outcome.p_success), ("cost", outcome.cost_usd),
                             ("latency", outcome.latency_ms), ("allowed", outcome.allowed)):
            rows[name].append(values[node])
        if ranks:
            rows["choose"].append(outcome.p_choose[node])
    if not keep:
        raise ValueError("none of the executed steps is within the nodes the planner takes")
    keep = np.array(keep)
    p, cost, latency = (np.array(rows[name], dtype=float) for name in ("p", "cost", "latency"))
    worker, logged, imputed = steps.worker[keep], {}, {}
    for metric, values, predicted in (("cost", steps.cost[keep], cost), ("latency", steps.latency[keep], latency)):
        missing = np.isnan(values)
        logged[metric] = np.where(missing, predicted[np.arange(len(worker)), worker], values)
        if missing.any():
            imputed[metric] = int(missing.sum())
    kept = LoggedSteps(worker, steps.choice_prob[keep], steps.success[keep], logged["cost"], logged["latency"],
                       tuple(steps.step_type[i] for i in keep), log=None if steps.log is None else steps.log[keep])
    return StepPredictions(kept, [positions[i] for i in keep], p, cost, latency, np.array(rows["allowed"], dtype=bool),
                           _skipped(logs), len(positions) - len(keep), imputed,
                           np.array(rows["choose"], dtype=float) if ranks else None)


def thin_note(effective_steps: float, steps: int) -> str | None:
    """A warning when the learned policy's estimates rest on few logged steps because it rarely agrees with
    the log (fewer than THIN_EFFECTIVE_STEPS effective steps, and under half of those logged); None otherwise."""
    if effective_steps >= THIN_EFFECTIVE_STEPS or effective_steps >= steps / 2:
        return None
    return (f"the learned policy's estimates rest on about {effective_steps:,.0f} effective logged steps of "
            f"{steps:,}: it rarely picks the worker the logs ran, so IPS, SNIPS and DR see little of what it "
            "would do and their intervals are wide; evaluate on more logs, or log with more exploration")


def pscore_note(fallback_steps: int, steps: int) -> str | None:
    """What was done where choice_prob is missing (None when every step has it)."""
    if not fallback_steps:
        return None
    which = "No step carries choice_prob" if fallback_steps == steps \
        else f"{fallback_steps:,} of {steps:,} steps carry no choice_prob"
    return (f"{which}: the logging policy's probability there is estimated as the share of "
            "the executed steps of the same type that used the same worker (exact only if the logging system "
            "chose by step type alone)")


@dataclass(frozen=True)
class PolicyReport:
    """The learned policy (utility selection at `cost_weight`, `latency_weight`) against the logging policy
    on held-out logs: estimates per metric and estimator (NaN where an estimator is undefined), the share
    of steps each policy gives each worker, calibration (plain and 1/choice_prob-weighted), and the cost
    weight sweep."""

    worker_names: tuple[str, ...]
    cost_weight: float
    latency_weight: float
    logs: int
    steps: int
    skipped_steps: int
    uncovered_steps: int
    fallback_steps: int
    estimates: dict[str, tuple[EstimateRow, ...]]
    learned_choices: dict[str, float]
    logged_choices: dict[str, float]
    calibration: dict[str, Calibration]
    curve: CostQualityCurve
    effective_steps: float  # how many logged steps the learned policy's estimates are worth
    notes: tuple[str, ...] = field(default=())

    def value(self, metric: str, estimator: str) -> EstimateRow:
        for row in self.estimates[metric]:
            if row.estimator == estimator:
                return row
        raise KeyError(f"no {estimator!r} estimate of {metric!r}")

    def to_dict(self) -> dict:
        """Everything, JSON-ready (undefined estimates are null)."""
        return _finite({
            "policy": "outcome", "workers": list(self.worker_names), "cost_weight": self.cost_weight,
            "latency_weight": self.latency_weight, "logs": self.logs, "steps": self.steps,
            "skipped_steps": self.skipped_steps, "uncovered_steps": self.uncovered_steps,
            "fallback_steps": self.fallback_steps, "effective_steps": self.effective_steps,
            "notes": list(self.notes),
            "estimates": {m: {r.estimator: {"estimate": r.estimate, "low": r.low, "high": r.high} for r in rows}
                          for m, rows in self.estimates.items()},
            "choices": {"learned": self.learned_choices, "logging": self.logged_choices},
            "calibration": {kind: c.to_dict() for kind, c in self.calibration.items()},
            "curve": self.curve.to_dict(),
        })


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _estimate(estimator: Estimator, feedback, policy, alpha, n_bootstrap, seed) -> EstimateRow:
    try:
        low, high = estimator.interval(feedback, policy, alpha=alpha, n_bootstrap=n_bootstrap, seed=seed)
        return EstimateRow(estimator.name, estimator.estimate(feedback, policy), low, high)
    except ValueError:  # SNIPS when the policy never takes a logged worker: undefined, not an error
        return EstimateRow(estimator.name, math.nan, math.nan, math.nan)


def _shares(choices: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    counts = np.bincount(choices, minlength=len(names))
    return {name: float(c / len(choices)) for name, c in zip(names, counts)}


def outcomes_of(predictions: StepPredictions) -> LoggedOutcomes:
    """The predictions as logged feedback per metric (missing choice_probs estimated, see policy_eval)."""
    return logged_outcomes(predictions.steps, predictions.p, predictions.cost, predictions.latency,
                           predictions.allowed, predictions.choose)


def calibration_report(planner, logs: Sequence[dict], n_bins: int = 10, strategy: str = "uniform",
                       batch_size: int = 64) -> dict[str, Calibration]:
    """Calibration alone ("plain" and "weighted"), for `orchestai eval` without `--policy`."""
    outcomes = outcomes_of(step_predictions(planner, logs, batch_size))
    feedback = outcomes.success
    return logged_calibration(feedback.q_hat, feedback.action, feedback.reward, feedback.pscore, n_bins, strategy)


def policy_report(planner, logs: Sequence[dict], cost_weight: float = 0.0, latency_weight: float = 0.0,
                  weights: Sequence[float] = DEFAULT_WEIGHTS, n_bins: int = 10, strategy: str = "uniform",
                  alpha: float = 0.05, n_bootstrap: int = 300, seed: int = 0, batch_size: int = 64) -> PolicyReport:
    """The off-policy report of `planner` on held-out `logs` (valid logs in the log format with outcomes).
    ValueError (one line) when no step can be evaluated or a log names a worker the planner does not know."""
    predictions = step_predictions(planner, logs, batch_size)
    outcomes = outcomes_of(predictions)
    names = tuple(planner.worker_names)
    policy = model_policy(outcomes, cost_weight, latency_weight)
    estimates = {metric: (*(_estimate(e, feedback, policy, alpha, n_bootstrap, seed) for e in ESTIMATORS),
                          logged_value(feedback, alpha, n_bootstrap, seed))
                 for metric, feedback in outcomes.by_metric().items()}
    feedback = outcomes.success
    calibration = logged_calibration(feedback.q_hat, feedback.action, feedback.reward, feedback.pscore, n_bins,
                                     strategy)
    curve = cost_quality_curve(outcomes, weights, latency_weight, names, alpha=alpha, n_bootstrap=n_bootstrap,
                               seed=seed)
    effective = effective_sample_size(feedback, policy)
    notes = [note for note in (pscore_note(outcomes.fallback_steps, len(outcomes)),
                               thin_note(effective, len(outcomes))) if note]
    if predictions.uncovered_steps:
        notes.append(f"{predictions.uncovered_steps:,} executed steps lie beyond the nodes the planner takes "
                     "(model.max_nodes) and are left out")
    for metric, count in predictions.imputed.items():
        notes.append(f"{count:,} of {len(outcomes):,} executed steps record no {LOGGED_KEYS[metric]}: the outcome "
                     f"model's prediction for the logged worker stands in, so {metric} estimates there rest on "
                     "the model alone")
    if any(math.isnan(row.estimate) for rows in estimates.values() for row in rows):
        notes.append("SNIPS is undefined where the learned policy never takes a logged worker")
    return PolicyReport(names, float(cost_weight), float(latency_weight), len(logs), len(outcomes),
                        predictions.skipped_steps, predictions.uncovered_steps, outcomes.fallback_steps,
                        estimates, _shares(policy.argmax(axis=1), names), _shares(feedback.action, names),
                        calibration, curve, effective, tuple(notes))


__all__ = ["ESTIMATORS", "METRICS", "THIN_EFFECTIVE_STEPS", "PolicyReport", "StepPredictions", "calibration_report",
           "has_outcome_model", "outcomes_of", "policy_report", "pscore_note", "step_predictions", "thin_note"]
