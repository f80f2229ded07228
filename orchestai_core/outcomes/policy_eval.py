"""Off-policy evaluation of a worker-selection policy on held-out logged steps, before deploying it.

Each executed logged step is one decision: the logged worker, its `choice_prob` (the logging policy's
probability of it), and what happened (success 0/1, cost, latency). Skipped steps are not decisions (no
worker ran) and are left out. With an outcome model's predictions for every worker (success, cost, latency:
n×k each), `evaluate_policy` estimates a target policy's success rate, mean cost and mean latency per step
with the estimators of `estimators.py`, and `cost_quality_curve` sweeps the cost weight of the utility
selection (`selection.py`) to trace what each weight would buy.

Missing choice_prob. Imported logs (TaskBench, other systems) often lack it. Those steps get a pscore
estimated from the logged frequencies: the share of the executed steps of the same type that used the same
worker. That keeps every step in IPS, SNIPS and DR, so all estimators speak of the same steps (leaving them
to the direct method alone would let a biased outcome model decide them unchecked), and it is exact when the
logging system chose by step type only; when it also looked at the request, those steps' weights are off.
How many steps fell back is reported (`LoggedOutcomes.fallback_steps`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from orchestai_core.outcomes.estimators import (
    IPS,
    SNIPS,
    DirectMethod,
    DoublyRobust,
    EstimateRow,
    Estimator,
    LoggedFeedback,
    OffPolicyEvaluation,
    deterministic_policy,
    effective_sample_size,
)
from orchestai_core.outcomes.selection import best_workers

METRICS = ("success", "cost", "latency")
# 0…5 (the Planner's slider) in half steps, finer below 0.3 (where a step's cheap and strong workers trade
# when their success differs by a few points: on the synthetic corpus the goal of issue 14 is met at 0.13
# to 0.14 and nowhere on the coarser grid), and log-spaced beyond.
DEFAULT_WEIGHTS = (0.0, 0.03, 0.05, 0.1, 0.13, 0.15, 0.2, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0,
                   10.0, 30.0, 100.0)


@dataclass(frozen=True)
class LoggedSteps:
    """Logged steps as arrays: logged `worker` index, `choice_prob` (NaN where missing), `success` (0/1),
    `cost` (USD), `latency` (ms), the step's type (needed only where choice_prob is missing), a
    `skipped` mask of steps that did not run (their other fields are ignored), and the `log` each step
    came from (the bootstrap's unit; None: every step its own)."""

    worker: np.ndarray
    choice_prob: np.ndarray
    success: np.ndarray
    cost: np.ndarray
    latency: np.ndarray
    step_type: tuple[str, ...] | None = None
    skipped: np.ndarray | None = None
    log: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.worker)


def steps_from_logs(logs: Sequence[dict], worker_names: Sequence[str],
                    may_lack: Sequence[str] = ()) -> tuple[LoggedSteps, list[tuple[int, int]]]:
    """The executed steps of logs in the log format, and where each came from: (log index, subtask index).
    Steps that were skipped, or carry no worker or status, are not decisions and are left out. ValueError
    names the log and step when a worker is not in `worker_names` or an executed step lacks its cost or
    latency, unless that key is in `may_lack` (the value is then NaN, for the caller to fill)."""
    index = {name: k for k, name in enumerate(worker_names)}
    rows, positions = [], []
    for li, log in enumerate(logs):
        for si, task in enumerate(log["subtasks"]):
            if task.get("status") not in ("success", "failed") or not task.get("worker"):
                continue
            where = f"log {log.get('id')!r} subtask {task.get('id', si)!r}"
            if task["worker"] not in index:
                raise ValueError(f"{where}: worker {task['worker']!r} is not among the {len(index)} workers evaluated")
            values = {}
            for key in ("cost_usd", "latency_ms"):
                if not isinstance(task.get(key), (int, float)) or isinstance(task.get(key), bool):
                    if key not in may_lack:
                        raise ValueError(f"{where}: executed step has no {key}")
                    values[key] = np.nan
                else:
                    values[key] = task[key]
            rows.append((index[task["worker"]], task.get("choice_prob"), task["status"] == "success",
                         values["cost_usd"], values["latency_ms"], task["type"]))
            positions.append((li, si))
    if not rows:
        raise ValueError("the logs hold no executed steps to evaluate on")
    worker, prob, success, cost, latency, types = zip(*rows)
    steps = LoggedSteps(np.array(worker), np.array([np.nan if p is None else p for p in prob], dtype=float),
                        np.array(success, dtype=float), np.array(cost, dtype=float),
                        np.array(latency, dtype=float), tuple(types), log=np.array([li for li, _ in positions]))
    return steps, positions


@dataclass(frozen=True)
class LoggedOutcomes:
    """The held-out decisions as one `LoggedFeedback` per metric (same steps, actions and pscores; rewards
    and the outcome model's predictions as q_hat differ), how many steps were skipped and how many got an
    estimated pscore, the optional n×k mask of workers allowed per step, and the optional n×k success the
    learned policy ranks workers by (`choose`: the predictions made pessimistic; None: success.q_hat)."""

    success: LoggedFeedback
    cost: LoggedFeedback
    latency: LoggedFeedback
    skipped_steps: int = 0
    fallback_steps: int = 0
    allowed: np.ndarray | None = None
    choose: np.ndarray | None = None

    def by_metric(self) -> dict[str, LoggedFeedback]:
        return {metric: getattr(self, metric) for metric in METRICS}

    def __len__(self) -> int:
        return len(self.success)


def _column(name: str, values, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.shape != (n,):
        raise ValueError(f"{name} must hold one value per logged step ({n}), got shape {values.shape}")
    return values


def estimated_pscores(worker: np.ndarray, step_type: Sequence[str]) -> np.ndarray:
    """Per step, the share of the steps of its type that used its worker: the logging policy's frequency."""
    per_type = Counter(step_type)
    per_pair = Counter(zip(step_type, worker.tolist()))
    return np.array([per_pair[(t, w)] / per_type[t] for t, w in zip(step_type, worker.tolist())])


def logged_outcomes(steps: LoggedSteps, p_hat, cost_hat, latency_hat, allowed=None, choose=None) -> LoggedOutcomes:
    """Pair logged steps with the outcome model's n×k predictions (rows in the steps' order, skipped steps
    included if `steps` has them). Skipped steps are dropped; missing choice_probs are estimated (module
    docstring). `choose` (n×k, optional): the success the learned policy ranks workers by, when it is not
    p_hat. ValueError names the first bad value."""
    n = len(steps)
    worker = np.asarray(steps.worker)
    if worker.shape != (n,) or not np.issubdtype(worker.dtype, np.integer):
        raise ValueError(f"worker must hold one integer worker index per step, got {worker.dtype} {worker.shape}")
    prob, success, cost, latency = (_column(name, getattr(steps, name), n)
                                    for name in ("choice_prob", "success", "cost", "latency"))
    skipped = np.zeros(n, dtype=bool) if steps.skipped is None else np.asarray(steps.skipped)
    if skipped.shape != (n,) or skipped.dtype != bool:
        raise ValueError(f"skipped must be a boolean mask with one entry per step ({n})")
    predictions = [np.asarray(a, dtype=float) for a in (p_hat, cost_hat, latency_hat)]
    for name, values in zip(("p_hat", "cost_hat", "latency_hat"), predictions):
        if values.ndim != 2 or values.shape[0] != n:
            raise ValueError(f"{name} must be an n×k matrix with one row per step ({n}), got shape {values.shape}")
    k = predictions[0].shape[1]
    if any(values.shape != (n, k) for values in predictions):
        raise ValueError(f"p_hat, cost_hat and latency_hat must have the same shape, got "
                         f"{', '.join(str(v.shape) for v in predictions)}")
    keep = ~skipped
    if not keep.any():
        raise ValueError("every step was skipped: there are no decisions to evaluate on")
    bad = keep & ~np.isin(success, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"success[{int(np.flatnonzero(bad)[0])}] must be 0 or 1")
    for name, values in (("cost", cost), ("latency", latency)):
        bad = keep & ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            raise ValueError(f"{name}[{int(np.flatnonzero(bad)[0])}] must be a finite number ≥ 0")
    missing = keep & np.isnan(prob)
    pscore = prob[keep]
    if missing.any():
        if steps.step_type is None or len(steps.step_type) != n:
            raise ValueError(f"choice_prob is missing for {int(missing.sum())} steps: give step_type (one per step) "
                             "so their pscore can be estimated from the logged frequency of workers per type")
        types = [t for t, kept in zip(steps.step_type, keep) if kept]
        pscore = np.where(np.isnan(pscore), estimated_pscores(worker[keep], types), pscore)
    mask = None
    if allowed is not None:
        mask = np.asarray(allowed)
        if mask.shape != (n, k) or mask.dtype != bool:
            raise ValueError(f"allowed must be a boolean matrix of shape {(n, k)}, got {mask.dtype} {mask.shape}")
        mask = mask[keep]
    if choose is not None:
        choose = np.asarray(choose, dtype=float)
        if choose.shape != (n, k):
            raise ValueError(f"choose must have the shape of p_hat {(n, k)}, got {choose.shape}")
        choose = choose[keep]
    rewards = {"success": success, "cost": cost, "latency": latency}
    groups = None if steps.log is None else np.asarray(steps.log)[keep]
    feedback = {metric: LoggedFeedback(worker[keep], rewards[metric][keep], pscore, k, q_hat[keep], groups)
                for metric, q_hat in zip(METRICS, predictions)}
    return LoggedOutcomes(**feedback, skipped_steps=int(skipped.sum()), fallback_steps=int(missing.sum()),
                          allowed=mask, choose=choose)


def policy_matrix(p, cost, latency, cost_weight: float = 0.0, latency_weight: float = 0.0,
                  allowed=None) -> np.ndarray:
    """The one-hot n×k policy that takes, per step, the worker of highest utility at these weights."""
    return deterministic_policy(best_workers(p, cost, latency, cost_weight, latency_weight, allowed),
                                np.asarray(p).shape[1])


def model_policy(outcomes: LoggedOutcomes, cost_weight: float = 0.0, latency_weight: float = 0.0) -> np.ndarray:
    """`policy_matrix` on the outcome model's predictions for the logged steps (success as the policy ranks
    it, `outcomes.choose`, when given)."""
    success = outcomes.success.q_hat if outcomes.choose is None else outcomes.choose
    return policy_matrix(success, outcomes.cost.q_hat, outcomes.latency.q_hat, cost_weight,
                         latency_weight, outcomes.allowed)


@dataclass(frozen=True)
class PolicyTable:
    """Estimates of one policy: per metric, one `EstimateRow` per estimator, and the logging policy's own
    value (estimator "logged": the plain mean of what was logged, with its bootstrap interval)."""

    rows: dict[str, tuple[EstimateRow, ...]]
    steps: int
    fallback_steps: int = 0

    def value(self, metric: str, estimator: str) -> EstimateRow:
        for row in self.rows.get(metric, ()):
            if row.estimator == estimator:
                return row
        raise KeyError(f"no {estimator!r} estimate of {metric!r} (have {', '.join(self._names())})")

    def _names(self) -> list[str]:
        return [f"{m}/{r.estimator}" for m, rows in self.rows.items() for r in rows]

    def to_dict(self) -> dict:
        return {"steps": self.steps, "fallback_steps": self.fallback_steps,
                "metrics": {m: {r.estimator: {"estimate": r.estimate, "low": r.low, "high": r.high} for r in rows}
                            for m, rows in self.rows.items()}}


def logged_value(feedback: LoggedFeedback, alpha: float = 0.05, n_bootstrap: int = 1000,
                 seed: int = 0) -> EstimateRow:
    """The logging policy's on-policy value: the mean logged reward, with its bootstrap interval."""
    plain = LoggedFeedback(feedback.action, feedback.reward, np.ones(len(feedback)), feedback.n_actions,
                           groups=feedback.groups)
    policy = deterministic_policy(feedback.action, feedback.n_actions)
    low, high = IPS().interval(plain, policy, alpha=alpha, n_bootstrap=n_bootstrap, seed=seed)
    return EstimateRow("logged", float(feedback.reward.mean()), low, high)


def _default_estimators(feedback: LoggedFeedback) -> tuple[Estimator, ...]:
    with_model = (DoublyRobust(), DirectMethod()) if feedback.q_hat is not None else ()
    return (IPS(), SNIPS(), *with_model)


def evaluate_policy(feedback_by_metric: LoggedOutcomes | Mapping[str, LoggedFeedback], policy,
                    estimators: Sequence[Estimator] | None = None, alpha: float = 0.05,
                    n_bootstrap: int = 1000, seed: int = 0) -> PolicyTable:
    """Estimates of `policy` (n×k worker probabilities on the logged steps) for every metric: IPS, SNIPS and,
    where the feedback has an outcome model, DR and DM (or the `estimators` given), each with its bootstrap
    interval, beside the logging policy's own value."""
    fallback = 0
    if isinstance(feedback_by_metric, LoggedOutcomes):
        fallback = feedback_by_metric.fallback_steps
        feedback_by_metric = feedback_by_metric.by_metric()
    if not feedback_by_metric:
        raise ValueError("no logged feedback to evaluate on")
    rows = {}
    for metric, feedback in feedback_by_metric.items():
        evaluation = OffPolicyEvaluation(tuple(estimators) if estimators else _default_estimators(feedback))
        rows[metric] = (*evaluation.evaluate(feedback, policy, alpha=alpha, n_bootstrap=n_bootstrap, seed=seed),
                        logged_value(feedback, alpha, n_bootstrap, seed))
    return PolicyTable(rows, len(next(iter(feedback_by_metric.values()))), fallback)


@dataclass(frozen=True)
class CurvePoint:
    """One policy on the cost/quality plane: its estimated success rate, cost and latency per step.
    `kind` is "weight" (utility selection at `cost_weight`), "worker" (one worker everywhere), "uniform"
    (a uniformly random allowed worker) or "logging" (what was logged, its plain mean). `effective_steps`:
    how many logged steps its estimates are worth (`effective_sample_size`; all of them for the logging
    policy)."""

    label: str
    kind: str
    cost_weight: float | None
    success: EstimateRow
    cost: EstimateRow
    latency: EstimateRow
    effective_steps: float


@dataclass(frozen=True)
class CostQualityCurve:
    """The cost-weight sweep and its reference points, estimated with one estimator (`estimator`)."""

    estimator: str
    latency_weight: float
    steps: int
    fallback_steps: int
    points: tuple[CurvePoint, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def _point(label, kind, weight, outcomes, policy, estimator, alpha, n_bootstrap, seed) -> CurvePoint:
    rows = {}
    for metric, feedback in outcomes.by_metric().items():
        low, high = estimator.interval(feedback, policy, alpha=alpha, n_bootstrap=n_bootstrap, seed=seed)
        rows[metric] = EstimateRow(estimator.name, estimator.estimate(feedback, policy), low, high)
    return CurvePoint(label, kind, weight, **rows, effective_steps=effective_sample_size(outcomes.success, policy))


def cost_quality_curve(outcomes: LoggedOutcomes, weights: Sequence[float] = DEFAULT_WEIGHTS,
                       latency_weight: float = 0.0, worker_names: Sequence[str] | None = None,
                       estimator: Estimator | None = None, alpha: float = 0.05, n_bootstrap: int = 300,
                       seed: int = 0) -> CostQualityCurve:
    """Per cost weight, the estimate (DR by default) of the utility selection's success rate, cost and
    latency per step, with intervals; then the reference points: every worker used everywhere (the mask is
    not applied to these: they show what each worker would do on all steps), a uniformly random allowed
    worker, and the logging policy."""
    estimator = estimator or DoublyRobust()
    k = outcomes.success.n_actions
    names = list(worker_names) if worker_names is not None else [f"worker {j}" for j in range(k)]
    if len(names) != k:
        raise ValueError(f"worker_names must name the {k} workers, got {len(names)}")
    if any(f.q_hat is None for f in outcomes.by_metric().values()):
        raise ValueError("the curve needs the outcome model's predictions (q_hat) for success, cost and latency")

    def point(label: str, kind: str, weight: float | None, policy: np.ndarray) -> CurvePoint:
        return _point(label, kind, weight, outcomes, policy, estimator, alpha, n_bootstrap, seed)

    points = [point(f"w={float(w):g}", "weight", float(w), model_policy(outcomes, float(w), latency_weight))
              for w in weights]
    n = len(outcomes)
    points += [point(f"only:{name}", "worker", None, deterministic_policy(np.full(n, j), k))
               for j, name in enumerate(names)]
    allowed = outcomes.allowed if outcomes.allowed is not None else np.ones((n, k), dtype=bool)
    points.append(point("uniform", "uniform", None, allowed / allowed.sum(axis=1, keepdims=True)))
    logged = {metric: logged_value(feedback, alpha, n_bootstrap, seed)
              for metric, feedback in outcomes.by_metric().items()}
    points.append(CurvePoint("logging", "logging", None, **logged, effective_steps=float(n)))
    return CostQualityCurve(estimator.name, float(latency_weight), n, outcomes.fallback_steps, tuple(points))

