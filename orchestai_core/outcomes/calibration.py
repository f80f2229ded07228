"""Calibration of predicted success probabilities: the reliability curve and the expected calibration error.

A prediction p is calibrated when, of the steps predicted at p, a share p succeeds. Steps are cut into bins
by their prediction (equal-width bins over [0, 1], or equal-mass bins holding about as many steps each);
each bin sets its mean prediction against its observed success rate, and the expected calibration error
(ECE) is the mean gap |predicted − observed| weighted by the bins' shares of the steps.

On logs, only the logged worker's outcome is seen, so calibration is measured on the logged worker's
predicted p. The logging policy picks some workers more than others; weighting each step by 1/choice_prob
measures it as if every worker had been tried equally often (`logged_calibration` reports both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

STRATEGIES = ("uniform", "quantile")  # equal-width or equal-mass bins


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin: its range of predictions, their (weighted) mean, the (weighted) observed success rate, how
    many steps fell in it and their total weight."""

    low: float
    high: float
    predicted: float
    observed: float
    count: int
    weight: float


@dataclass(frozen=True)
class Calibration:
    """The reliability curve (non-empty bins, in order) and its expected calibration error."""

    ece: float
    bins: tuple[ReliabilityBin, ...]
    n: int
    strategy: str
    weighted: bool

    def to_dict(self) -> dict:
        return asdict(self)


def _edges(predicted: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    edges = np.quantile(predicted, np.linspace(0.0, 1.0, n_bins + 1))
    edges[0], edges[-1] = 0.0, 1.0
    return np.unique(edges)  # tied quantiles would make empty bins


def _check(predicted, observed, weights, n_bins: int, strategy: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    predicted, observed = np.asarray(predicted, dtype=float), np.asarray(observed, dtype=float)
    if predicted.ndim != 1 or predicted.shape != observed.shape:
        raise ValueError(f"predicted and observed must be vectors of one length, got {predicted.shape} and "
                         f"{observed.shape}")
    if not len(predicted):
        raise ValueError("no predictions to measure calibration on")
    if not np.all(np.isfinite(predicted)) or predicted.min() < 0 or predicted.max() > 1:
        raise ValueError("predicted must hold probabilities in [0, 1]")
    if not np.all(np.isin(observed, (0.0, 1.0))):
        raise ValueError("observed must hold outcomes 0 or 1")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown binning {strategy!r} (expected one of {', '.join(STRATEGIES)})")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer ≥ 1, got {n_bins!r}")
    weights = np.ones_like(predicted) if weights is None else np.asarray(weights, dtype=float)
    if weights.shape != predicted.shape or not np.all(np.isfinite(weights)) or weights.min() < 0 \
            or weights.sum() <= 0:
        raise ValueError("weights must hold one finite weight ≥ 0 per prediction, not all 0")
    return predicted, observed, weights


def reliability_curve(predicted: Sequence[float], observed: Sequence[float], n_bins: int = 10,
                      strategy: str = "uniform", weights: Sequence[float] | None = None) -> Calibration:
    """Bin the predictions (`strategy` "uniform": equal width; "quantile": equal mass) and set each bin's
    mean prediction against its observed rate; `weights` (e.g. 1/choice_prob) weight every mean and the
    ECE. A prediction on an inner edge goes to the upper bin; 1.0 to the last."""
    weighted = weights is not None
    predicted, observed, weights = _check(predicted, observed, weights, n_bins, strategy)
    edges = _edges(predicted, n_bins, strategy)
    index = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, len(edges) - 2)
    bins, gap = [], 0.0
    for b in range(len(edges) - 1):
        inside = index == b
        weight = float(weights[inside].sum())
        if not inside.any() or weight == 0:
            continue
        mean_p = float(np.average(predicted[inside], weights=weights[inside]))
        rate = float(np.average(observed[inside], weights=weights[inside]))
        bins.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), mean_p, rate, int(inside.sum()), weight))
        gap += weight * abs(mean_p - rate)
    return Calibration(gap / float(weights.sum()), tuple(bins), len(predicted), strategy, weighted)


def expected_calibration_error(predicted: Sequence[float], observed: Sequence[float], n_bins: int = 10,
                               strategy: str = "uniform", weights: Sequence[float] | None = None) -> float:
    """The ECE of `reliability_curve`: Σ over bins of (bin weight / total) × |mean prediction − observed rate|."""
    return reliability_curve(predicted, observed, n_bins, strategy, weights).ece


def logged_calibration(p_hat, worker, success, choice_prob, n_bins: int = 10,
                       strategy: str = "uniform") -> dict[str, Calibration]:
    """Calibration of the logged worker's predicted success (`p_hat` n×k, `worker` the logged index per step)
    against what happened: "plain" (every step counts once) and "weighted" (by 1/choice_prob)."""
    p_hat, worker = np.asarray(p_hat, dtype=float), np.asarray(worker)
    if p_hat.ndim != 2 or worker.shape != (len(p_hat),):
        raise ValueError(f"p_hat must be n×k and worker hold one index per row, got {p_hat.shape} and {worker.shape}")
    prob = np.asarray(choice_prob, dtype=float)
    if prob.shape != worker.shape or not np.all(np.isfinite(prob)) or prob.min() <= 0 or prob.max() > 1:
        raise ValueError("choice_prob must hold one probability in (0, 1] per step")
    predicted = p_hat[np.arange(len(worker)), worker]
    return {"plain": reliability_curve(predicted, success, n_bins, strategy),
            "weighted": reliability_curve(predicted, success, n_bins, strategy, 1.0 / prob)}
