"""Off-policy estimators: what a new worker-selection policy would achieve, from logs of another one.

Logs show one worker per decision (bandit feedback): the outcome of the workers not chosen is never seen.
Each estimator here turns logged feedback (chosen action, its reward, the logging policy's probability of
it, optionally a reward model's predictions for every action) and a target policy (an n×k matrix of action
probabilities; deterministic policies are one-hot) into an estimate of the target policy's mean reward,
with a bootstrap percentile interval. The shape follows Open Bandit Pipeline's `obp.ope`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_ROW_SUM_TOLERANCE = 1e-6
_NO_WEIGHT = "{}: the target policy gives no weight to any logged action; the estimate is undefined"


@dataclass(frozen=True)
class LoggedFeedback:
    """n logged decisions among `n_actions` actions: the chosen `action`, its `reward` (any scalar: success,
    cost, latency), `pscore` the logging policy's probability of that action, optionally `q_hat`, a
    reward model's prediction for every action (n×k), and optionally `groups`, the independent unit each
    decision belongs to (the log: the steps of one request share how hard it is, so their outcomes move
    together, and the bootstrap must resample whole logs). Inputs are checked and stored as numpy arrays."""

    action: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray
    n_actions: int
    q_hat: np.ndarray | None = None
    groups: np.ndarray | None = None

    def __post_init__(self) -> None:
        if isinstance(self.n_actions, bool) or not isinstance(self.n_actions, (int, np.integer)) or self.n_actions < 1:
            raise ValueError(f"n_actions must be a positive integer, got {self.n_actions!r}")
        action = np.asarray(self.action)
        reward = np.asarray(self.reward, dtype=float)
        pscore = np.asarray(self.pscore, dtype=float)
        for name, values in (("action", action), ("reward", reward), ("pscore", pscore)):
            if values.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional (one value per decision), got shape {values.shape}")
        n = len(action)
        if n == 0:
            raise ValueError("the feedback holds no decisions")
        if len(reward) != n or len(pscore) != n:
            raise ValueError("action, reward and pscore must have the same length, "
                             f"got {n}, {len(reward)}, {len(pscore)}")
        if not np.issubdtype(action.dtype, np.integer):
            raise ValueError(f"action must hold integer action indices, got dtype {action.dtype}")
        if action.min() < 0 or action.max() >= self.n_actions:
            bad = int(np.flatnonzero((action < 0) | (action >= self.n_actions))[0])
            raise ValueError(f"action[{bad}] = {action[bad]} is out of range for {self.n_actions} actions")
        if not np.all(np.isfinite(reward)):
            raise ValueError(f"reward[{int(np.flatnonzero(~np.isfinite(reward))[0])}] is not a finite number")
        outside = ~((pscore > 0) & (pscore <= 1))
        if outside.any():
            bad = int(np.flatnonzero(outside)[0])
            raise ValueError(f"pscore[{bad}] = {pscore[bad]} is not in (0, 1]")
        object.__setattr__(self, "action", action.astype(np.int64))
        object.__setattr__(self, "reward", reward)
        object.__setattr__(self, "pscore", pscore)
        if self.q_hat is not None:
            q_hat = np.asarray(self.q_hat, dtype=float)
            if q_hat.shape != (n, self.n_actions):
                raise ValueError(f"q_hat must have shape (n, n_actions) = {(n, self.n_actions)}, got {q_hat.shape}")
            if not np.all(np.isfinite(q_hat)):
                raise ValueError("q_hat holds a value that is not a finite number")
            object.__setattr__(self, "q_hat", q_hat)
        if self.groups is not None:
            groups = np.asarray(self.groups)
            if groups.shape != (n,):
                raise ValueError(f"groups must hold one group per decision ({n}), got shape {groups.shape}")
            object.__setattr__(self, "groups", groups)

    def __len__(self) -> int:
        return len(self.action)


def check_policy(policy: np.ndarray, feedback: LoggedFeedback) -> np.ndarray:
    """The target policy as a float n×k matrix of probabilities; raise ValueError if it is not one."""
    policy = np.asarray(policy, dtype=float)
    expected = (len(feedback), feedback.n_actions)
    if policy.shape != expected:
        raise ValueError(f"the target policy must have shape (n, n_actions) = {expected}, got {policy.shape}")
    if not np.all(np.isfinite(policy)) or policy.min() < 0 or policy.max() > 1:
        raise ValueError("the target policy's probabilities must be finite numbers in [0, 1]")
    sums = policy.sum(axis=1)
    off = np.abs(sums - 1.0) > _ROW_SUM_TOLERANCE
    if off.any():
        bad = int(np.flatnonzero(off)[0])
        raise ValueError(f"the target policy's row {bad} sums to {sums[bad]:.6g}, not 1")
    return policy


def deterministic_policy(actions: Sequence[int] | np.ndarray, n_actions: int) -> np.ndarray:
    """The one-hot n×k matrix of a policy that always takes `actions[i]` on decision i."""
    actions = np.asarray(actions, dtype=np.int64)
    if actions.size and (actions.min() < 0 or actions.max() >= n_actions):
        raise ValueError(f"actions must be in [0, {n_actions}), got {actions.min()}..{actions.max()}")
    policy = np.zeros((len(actions), n_actions))
    policy[np.arange(len(actions)), actions] = 1.0
    return policy


def policy_value(rewards: np.ndarray, policy: np.ndarray) -> float:
    """The true mean reward of `policy` when every action's reward is known (n×k): the ground truth that
    estimators are judged against on simulated or fully observed data."""
    rewards = np.asarray(rewards, dtype=float)
    policy = np.asarray(policy, dtype=float)
    if rewards.shape != policy.shape:
        raise ValueError(f"rewards and policy must have the same shape, got {rewards.shape} and {policy.shape}")
    return float((rewards * policy).sum(axis=1).mean())


def importance_weights(feedback: LoggedFeedback, policy: np.ndarray, clip: float | None = None) -> np.ndarray:
    """π(a_i | x_i) / pscore_i for each logged decision, capped at `clip` when given."""
    weights = policy[np.arange(len(feedback)), feedback.action] / feedback.pscore
    return weights if clip is None else np.minimum(weights, clip)


def effective_sample_size(feedback: LoggedFeedback, policy: np.ndarray) -> float:
    """How many logged decisions the importance-weighted estimates of `policy` are worth: Kish's
    (Σ w)² / Σ w² of the weights π(a_i | x_i) / pscore_i. It equals n for the logging policy itself and
    falls as the target policy takes actions the log rarely took; 0 when it takes none of the logged ones.
    IPS and DR intervals widen as it falls: an estimate resting on a few hundred effective decisions
    cannot pin a success rate to a point or two."""
    weights = importance_weights(feedback, check_policy(policy, feedback))
    squares = float((weights ** 2).sum())
    return float(weights.sum() ** 2 / squares) if squares > 0 else 0.0


def _check_clip(clip: float | None) -> None:
    if clip is not None and not (np.isfinite(clip) and clip > 0):
        raise ValueError(f"clip must be a positive number or None, got {clip!r}")


def _need_q_hat(feedback: LoggedFeedback, estimator: str) -> np.ndarray:
    if feedback.q_hat is None:
        raise ValueError(f"{estimator} needs a reward model's predictions: "
                         "LoggedFeedback(q_hat=...) of shape (n, n_actions)")
    return feedback.q_hat


class Estimator(ABC):
    """Base of the estimators. Each is a ratio of sums over the logged decisions, sum(num) / sum(den), given
    by `terms`; mean estimators have den = 1 per decision. The bootstrap resamples decisions (whole groups
    of them when the feedback has `groups`) and recomputes the ratio, so the reward model (q_hat) is held
    fixed across resamples."""

    name = "estimator"

    @abstractmethod
    def terms(self, feedback: LoggedFeedback, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-decision numerator and denominator terms (policy already checked)."""

    def estimate(self, feedback: LoggedFeedback, policy: np.ndarray) -> float:
        """The estimated mean reward of the target `policy` (n×k action probabilities)."""
        num, den = self.terms(feedback, check_policy(policy, feedback))
        total = den.sum()
        if total <= 0:
            raise ValueError(_NO_WEIGHT.format(self.name))
        return float(num.sum() / total)

    def interval(self, feedback: LoggedFeedback, policy: np.ndarray, alpha: float = 0.05,
                 n_bootstrap: int = 1000, seed: int = 0) -> tuple[float, float]:
        """The (1 - alpha) bootstrap percentile interval of the estimate; the same seed gives the same interval.
        With `feedback.groups` the resamples draw whole groups (a cluster bootstrap), so decisions that move
        together are not counted as independent evidence. Resamples whose denominator is zero (SNIPS with
        no weight on any resampled decision) are left out."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
        if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 2:
            raise ValueError(f"n_bootstrap must be an integer of at least 2, got {n_bootstrap!r}")
        num, den = self.terms(feedback, check_policy(policy, feedback))
        if den.sum() <= 0:
            raise ValueError(_NO_WEIGHT.format(self.name))
        if feedback.groups is not None:  # one term per group: its sums
            _, group = np.unique(feedback.groups, return_inverse=True)
            num, den = np.bincount(group, weights=num), np.bincount(group, weights=den)
        rng = np.random.default_rng(seed)
        n = len(num)
        values = np.full(n_bootstrap, np.nan)
        for b in range(n_bootstrap):
            idx = rng.integers(0, n, size=n)
            total = den[idx].sum()
            if total > 0:
                values[b] = num[idx].sum() / total
        low, high = np.nanquantile(values, [alpha / 2, 1 - alpha / 2])
        return float(low), float(high)


@dataclass(frozen=True)
class DirectMethod(Estimator):
    """DM: the reward model's prediction averaged under the target policy. Low variance; biased as far as
    the reward model is wrong."""

    name = "dm"

    def terms(self, feedback: LoggedFeedback, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q_hat = _need_q_hat(feedback, "DirectMethod")
        return (policy * q_hat).sum(axis=1), np.ones(len(feedback))


@dataclass(frozen=True)
class _Clipped(Estimator):
    """An estimator whose importance weights may be capped at `clip` (less variance, some bias)."""

    clip: float | None = None
    short = "estimator"

    def __post_init__(self) -> None:
        _check_clip(self.clip)

    @property
    def name(self) -> str:
        return self.short if self.clip is None else f"{self.short}(clip={self.clip:g})"


@dataclass(frozen=True)
class IPS(_Clipped):
    """Inverse propensity scoring: logged rewards reweighted by π(a|x) / pscore. Unbiased when the logging
    policy gives every action the target takes a positive probability; `clip` caps the weights (less
    variance, some bias)."""

    short = "ips"

    def terms(self, feedback: LoggedFeedback, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return importance_weights(feedback, policy, self.clip) * feedback.reward, np.ones(len(feedback))


@dataclass(frozen=True)
class SNIPS(Estimator):
    """Self-normalised IPS: weighted rewards divided by the sum of the weights instead of n. Slightly
    biased, consistent, and much steadier than IPS when weights are large."""

    name = "snips"

    def terms(self, feedback: LoggedFeedback, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weights = importance_weights(feedback, policy)
        return weights * feedback.reward, weights


@dataclass(frozen=True)
class DoublyRobust(_Clipped):
    """DR: the direct method plus IPS applied to the reward model's error on the logged action. Unbiased
    when the propensities are right, whatever the reward model; low variance when the model is good."""

    short = "dr"

    def terms(self, feedback: LoggedFeedback, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q_hat = _need_q_hat(feedback, "DoublyRobust")
        logged_q = q_hat[np.arange(len(feedback)), feedback.action]
        weights = importance_weights(feedback, policy, self.clip)
        return (policy * q_hat).sum(axis=1) + weights * (feedback.reward - logged_q), np.ones(len(feedback))


@dataclass(frozen=True)
class EstimateRow:
    """One estimator's estimate of a policy's value and its bootstrap interval."""

    estimator: str
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class OffPolicyEvaluation:
    """Several estimators run on the same logged feedback and target policy, side by side. All intervals
    use the same seed, so their bootstrap resamples are the same decisions."""

    estimators: tuple[Estimator, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimators", tuple(self.estimators))
        if not self.estimators:
            raise ValueError("OffPolicyEvaluation needs at least one estimator")
        names = [e.name for e in self.estimators]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"estimator names must be unique, {duplicates[0]!r} appears more than once")

    def evaluate(self, feedback: LoggedFeedback, policy: np.ndarray, alpha: float = 0.05,
                 n_bootstrap: int = 1000, seed: int = 0) -> list[EstimateRow]:
        """One row per estimator, in the order given."""
        rows = []
        for estimator in self.estimators:
            low, high = estimator.interval(feedback, policy, alpha=alpha, n_bootstrap=n_bootstrap, seed=seed)
            rows.append(EstimateRow(estimator.name, estimator.estimate(feedback, policy), low, high))
        return rows
