"""Worker selection by utility: per step, the worker with the best predicted success less weighted cost and
latency, then repaired to keep a whole plan within its cost and latency budgets.

Inputs are an outcome model's predictions for n planned steps and k workers: `p` (success probability),
`cost` (expected USD) and `latency` (expected ms), each n×k, and an optional n×k boolean `allowed` mask of
workers that can do the step (the others are never chosen).

Reference values. The utility of worker j on step i is

    u = p[i,j] − cost_weight · cost[i,j] / ref_cost[i] − latency_weight · latency[i,j] / ref_latency[i]

where ref_cost[i] and ref_latency[i] are the largest predictions among the step's allowed workers (its most
expensive and its slowest candidate). The penalty is then a share of the step's own price range, so one
weight means the same on a 10-token classification and a 3,000-token summary: w is the success
probability given up to avoid the step's most expensive worker entirely. At 0 the likeliest-to-succeed
worker is chosen; strong → cheap switches (the cheap one at a few % of the reference) happen at w ≈ Δp,
i.e. below 1 on easy requests and up to the 1–2 range on hard ones; at 5 every step takes a much cheaper
worker wherever its success is not far below the other cheap workers' (the cheapest ones differ by only a
few % of the reference, so a near-useless worker still loses to a decent cheap one until w ≈ 10–30).
On the synthetic corpus with true predictions, choices change at every step of a 0, 0.5, …, 5 grid, and
mean success and cost fall monotonically. Against the alternative reference "the likeliest worker's own
cost", this one traced a better success/cost frontier there (0.86 vs 0.82 step success at the same cost).
Workers that cannot do a type belong in `allowed`: an expensive incapable one would inflate the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from orchestai_core.dag import finish_times, longest_path

_LOG_FLOOR = 1e-9      # success probabilities are floored here before taking logs
_DESCENT = 1e-12       # a repair switch must lower the budget excess by more than this


@dataclass(frozen=True)
class Selection:
    """The chosen worker of each step with its predictions, and the plan's expected figures: success (the
    product of the steps' p_success: a failed step skips its dependants, so the plan needs every step),
    total cost (every step run: an upper bound, since skipped steps cost nothing), the length and steps of
    the critical path of expected latencies, and whether the budgets hold (`violations` says why not)."""

    workers: tuple[int, ...]
    p_success: tuple[float, ...]
    cost: tuple[float, ...]
    latency: tuple[float, ...]
    expected_success: float
    total_cost: float
    critical_path_ms: float
    critical_path: tuple[int, ...]
    feasible: bool = True
    violations: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)


def _predictions(p, cost, latency, allowed) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The predictions as float n×k arrays and the mask as bool n×k; ValueError names what is wrong."""
    p, cost, latency = (np.asarray(a, dtype=float) for a in (p, cost, latency))
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"p must be an n×k matrix (steps × workers), got shape {p.shape}")
    for name, values in (("cost", cost), ("latency", latency)):
        if values.shape != p.shape:
            raise ValueError(f"{name} must have the shape of p {p.shape}, got {values.shape}")
    for name, values in (("p", p), ("cost", cost), ("latency", latency)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} holds a value that is not a finite number")
    if p.min(initial=0.0) < 0 or p.max(initial=0.0) > 1:
        raise ValueError("p must hold probabilities in [0, 1]")
    if cost.min(initial=0.0) < 0 or latency.min(initial=0.0) < 0:
        raise ValueError("cost and latency must not be negative")
    if allowed is None:
        mask = np.ones(p.shape, dtype=bool)
    else:
        mask = np.asarray(allowed)
        if mask.shape != p.shape or mask.dtype != bool:
            raise ValueError(f"allowed must be a boolean matrix of the shape of p {p.shape}, "
                             f"got {mask.dtype} {mask.shape}")
    empty = ~mask.any(axis=1)
    if empty.any():
        raise ValueError(f"step {int(np.flatnonzero(empty)[0])} has no allowed worker")
    return p, cost, latency, mask


def pessimistic_success(p, observed, strength: float = 1.0) -> np.ndarray:
    """The success probabilities a selection ranks workers by: each prediction lowered by `strength` standard
    errors of a rate measured on the runs behind it, `strength · sqrt(p(1 − p) / (observed + 1))`, where
    `observed` (n×k, like p) counts the training logs' runs of that worker on that step's type.

    Logs show one worker per step, mostly the one the logging system preferred; the outcome model's figure
    for a worker it rarely saw on a type rests on a few runs and errs both ways, and taking the best-looking
    one picks its lucky errors (the winner's curse). Pessimism in the face of uncertainty, the usual remedy
    in off-policy learning, keeps a well-observed worker unless a rarely seen one looks better by more than
    its own uncertainty; with thousands of runs per worker it changes nothing. 0 = the predictions as they
    are."""
    p = np.asarray(p, dtype=float)
    observed = np.asarray(observed, dtype=float)
    if observed.shape != p.shape:
        raise ValueError(f"observed must have the shape of p {p.shape}, got {observed.shape}")
    if not np.all(np.isfinite(observed)) or observed.min(initial=0.0) < 0:
        raise ValueError("observed must hold run counts ≥ 0")
    strength = _weight("strength", strength)
    if strength == 0:
        return p
    return np.clip(p - strength * np.sqrt(np.clip(p * (1 - p), 0.0, None) / (observed + 1)), 0.0, 1.0)


def _weight(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
    return float(value)


def _order(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Per row, the columns sorted by `keys` (most significant first), then by column index."""
    index = np.broadcast_to(np.arange(keys[0].shape[1]), keys[0].shape)
    return np.lexsort((index, *reversed(keys)), axis=-1)


def _first_by(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Per row, the column that sorts first by `keys` (most significant first), then by column index."""
    return _order(keys)[:, 0]


def _reference(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per step, the largest value among allowed workers; 1 where all are 0 (the term is then 0 for all)."""
    largest = np.where(mask, values, 0.0).max(axis=1)
    return np.where(largest > 0, largest, 1.0)


def utility(p, cost, latency, cost_weight: float = 0.0, latency_weight: float = 0.0, allowed=None) -> np.ndarray:
    """n×k utilities p − cost_weight·cost/ref_cost − latency_weight·latency/ref_latency (references: the
    step's most expensive and slowest allowed worker's predictions, see the module docstring); −inf where
    not allowed."""
    p, cost, latency, mask = _predictions(p, cost, latency, allowed)
    cost_weight, latency_weight = _weight("cost_weight", cost_weight), _weight("latency_weight", latency_weight)
    u = (p - cost_weight * cost / _reference(cost, mask)[:, None]
         - latency_weight * latency / _reference(latency, mask)[:, None])
    return np.where(mask, u, -np.inf)


def best_workers(p, cost, latency, cost_weight: float = 0.0, latency_weight: float = 0.0,
                 allowed=None) -> np.ndarray:
    """Per step, the allowed worker of highest utility; ties to the cheaper, then the faster, then the first."""
    u = utility(p, cost, latency, cost_weight, latency_weight, allowed)
    p, cost, latency, _ = _predictions(p, cost, latency, allowed)
    return _first_by([-u, cost, latency])


def _check_parents(parents: Sequence[Sequence[int]], n: int) -> list[list[int]]:
    if len(parents) != n:
        raise ValueError(f"parents must list the parents of each of the {n} steps, got {len(parents)} entries")
    checked = []
    for i, entry in enumerate(parents):
        ids = list(entry)
        for parent in ids:
            if isinstance(parent, bool) or not isinstance(parent, (int, np.integer)) or not 0 <= parent < i:
                raise ValueError(f"parents[{i}] holds {parent!r}: a step may depend only on earlier steps (0..{i - 1})")
        checked.append(sorted(set(int(x) for x in ids)))
    return checked


def critical_path(step_latency: Sequence[float], parents: Sequence[Sequence[int]]) -> tuple[float, list[int]]:
    """Length and steps (in order) of the longest path of `step_latency` through the DAG; parents come
    before their children. Ties go to the earliest parent."""
    lengths = np.asarray(step_latency, dtype=float)
    path, length = longest_path(lengths, _check_parents(parents, len(lengths)))
    return float(length), path


def _path_excess(lengths: np.ndarray, parents: list[list[int]], children: list[list[int]], budget: float) -> float:
    """Σ over steps of how far the longest path through the step exceeds `budget`. Zero exactly when the
    critical path fits; unlike the critical path alone, it falls when one of two tied paths gets shorter."""
    finish = np.asarray(finish_times(lengths, parents)[0])
    tail = np.zeros(len(lengths))
    for i in range(len(lengths) - 1, -1, -1):
        tail[i] = lengths[i] + max((tail[c] for c in children[i]), default=0.0)
    return float(np.maximum(finish + tail - lengths - budget, 0.0).sum())


class _Plan:
    """The budgets' view of a choice of workers: how far it exceeds them, as fractions of each budget."""

    def __init__(self, cost, latency, parents, budget_usd, budget_latency_ms):
        self.cost, self.latency, self.parents = cost, latency, parents
        self.children = [[] for _ in parents]
        for i, ps in enumerate(parents):
            for parent in ps:
                self.children[parent].append(i)
        self.budget_usd, self.budget_latency_ms = budget_usd, budget_latency_ms
        self.rows = np.arange(len(cost))

    def excess(self, choice: np.ndarray) -> float:
        total = 0.0
        if self.budget_usd is not None:
            spent = self.cost[self.rows, choice].sum()
            total += max(spent - self.budget_usd, 0.0) / max(self.budget_usd, 1e-12)
        if self.budget_latency_ms is not None:
            lengths = self.latency[self.rows, choice]
            total += _path_excess(lengths, self.parents, self.children, self.budget_latency_ms) \
                / max(self.budget_latency_ms, 1e-12)
        return total


def _repair(choice: np.ndarray, log_p: np.ndarray, mask: np.ndarray, plan: _Plan) -> np.ndarray:
    """Greedy repair: while a budget is exceeded, make the switch (one step to another allowed worker) that
    loses the least log-success per unit of budget excess removed. The excess is the cost over its budget
    plus, for latency, the sum over steps of how far the longest path through the step exceeds its budget
    (so only steps on an over-long path help), each as a fraction of its budget. Every switch strictly
    lowers the excess, so the repair ends; it stops when both budgets hold or no switch helps."""
    choice = choice.copy()
    current = plan.excess(choice)
    while current > 0:
        best, best_score = None, np.inf
        for i in range(len(choice)):
            for j in np.flatnonzero(mask[i]):
                if j == choice[i] or not (plan.cost[i, j] < plan.cost[i, choice[i]]
                                          or plan.latency[i, j] < plan.latency[i, choice[i]]):
                    continue  # neither cheaper nor faster: cannot lower the excess
                trial = choice.copy()
                trial[i] = j
                gain = current - plan.excess(trial)
                if gain <= _DESCENT:
                    continue
                score = (log_p[i, choice[i]] - log_p[i, j]) / gain
                if score < best_score:
                    best, best_score = (i, j), score
        if best is None:
            break
        choice[best[0]] = best[1]
        current = plan.excess(choice)
    return choice


def _give_back(choice: np.ndarray, rank: np.ndarray, u: np.ndarray, plan: _Plan) -> np.ndarray:
    """After a repair, undo what the budgets do not need: move a step to a worker it prefers (lower `rank`,
    the order of utility and its tie-breaks) while both budgets still hold, the largest utility gain first.
    Each move lowers the sum of ranks, so this ends."""
    choice = choice.copy()
    while True:
        best, best_key = None, None
        for i in range(len(choice)):
            for j in np.flatnonzero(rank[i] < rank[i, choice[i]]):
                trial = choice.copy()
                trial[i] = j
                key = (u[i, j] - u[i, choice[i]], -rank[i, j])
                if (best_key is None or key > best_key) and plan.excess(trial) == 0:
                    best, best_key = (i, j), key
        if best is None:
            return choice
        choice[best[0]] = best[1]


def _budget(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number ≥ 0 or None, got {value!r}")
    return float(value)


def _selection(choice, p, cost, latency, parents, budget_usd, budget_latency_ms) -> Selection:
    rows = np.arange(len(choice))
    chosen_p, chosen_cost, chosen_latency = p[rows, choice], cost[rows, choice], latency[rows, choice]
    length, path = critical_path(chosen_latency, parents)
    total = float(chosen_cost.sum())
    violations = []
    if budget_usd is not None and total > budget_usd:
        violations.append(f"expected cost ${total:.6g} exceeds the budget ${budget_usd:.6g}")
    if budget_latency_ms is not None and length > budget_latency_ms:
        violations.append(f"expected critical-path latency {length:.6g} ms exceeds the budget "
                          f"{budget_latency_ms:.6g} ms")
    return Selection(tuple(int(c) for c in choice), tuple(map(float, chosen_p)), tuple(map(float, chosen_cost)),
                     tuple(map(float, chosen_latency)), float(np.prod(chosen_p)), total, length, tuple(path),
                     not violations, tuple(violations))


def choose_workers(p, cost, latency, parents: Sequence[Sequence[int]], cost_weight: float = 0.0,
                   latency_weight: float = 0.0, budget_usd: float | None = None,
                   budget_latency_ms: float | None = None, allowed=None) -> Selection:
    """Choose a worker for every step of a plan (DAG: `parents[i]` lists the earlier steps step i needs).

    Each step gets its highest-utility allowed worker; then, if the plan's total expected cost exceeds
    `budget_usd` or its expected critical-path latency exceeds `budget_latency_ms`, a greedy repair switches
    steps to cheaper or faster workers (see `_repair`) and gives back what the budgets do not need. When no
    plan can meet a budget even with the cheapest (or fastest) allowed worker on every step, the cheapest
    (or fastest) plan is returned with `feasible=False` and a message per budget it breaks; no exception.
    """
    p, cost, latency, mask = _predictions(p, cost, latency, allowed)
    parents = _check_parents(parents, len(p))
    budget_usd, budget_latency_ms = _budget("budget_usd", budget_usd), _budget("budget_latency_ms", budget_latency_ms)
    u = utility(p, cost, latency, cost_weight, latency_weight, mask)
    order = _order([-u, cost, latency])
    preferred = order[:, 0]
    if budget_usd is None and budget_latency_ms is None:
        return _selection(preferred, p, cost, latency, parents, None, None)

    rows = np.arange(len(p))
    cheapest = _first_by([np.where(mask, cost, np.inf), -p, latency])
    fastest = _first_by([np.where(mask, latency, np.inf), -p, cost])
    cost_impossible = budget_usd is not None and cost[rows, cheapest].sum() > budget_usd
    latency_impossible = budget_latency_ms is not None and \
        critical_path(latency[rows, fastest], parents)[0] > budget_latency_ms
    if cost_impossible or latency_impossible:
        fallback = cheapest if cost_impossible else fastest
        selection = _selection(fallback, p, cost, latency, parents, budget_usd, budget_latency_ms)
        return _explain_impossible(selection, cost_impossible, latency_impossible)

    plan = _Plan(cost, latency, parents, budget_usd, budget_latency_ms)
    repaired = _repair(preferred, np.log(np.maximum(p, _LOG_FLOOR)), mask, plan)
    if plan.excess(repaired) == 0:
        rank = np.argsort(order, axis=1)  # rank[i, j]: how far down step i's preferences worker j comes
        repaired = _give_back(repaired, rank, u, plan)
    selection = _selection(repaired, p, cost, latency, parents, budget_usd, budget_latency_ms)
    if selection.feasible:
        return selection
    note = ("; each budget alone can be met, but the greedy repair found no plan within both "
            "(it returns where it stopped)")
    return Selection(**{**selection.__dict__, "violations": tuple(v + note for v in selection.violations)})


def _explain_impossible(selection: Selection, cost_impossible: bool, latency_impossible: bool) -> Selection:
    """Say which budget no plan can meet (and which plan is returned instead)."""
    messages = []
    for violation in selection.violations:
        if violation.startswith("expected cost") and cost_impossible:
            messages.append(f"{violation} even with the cheapest allowed worker on every step "
                            "(the cheapest plan is returned)")
        elif violation.startswith("expected critical-path") and latency_impossible:
            messages.append(f"{violation} even with the fastest allowed worker on every step"
                            + ("" if cost_impossible else " (the fastest plan is returned)"))
        else:
            messages.append(violation)
    return Selection(**{**selection.__dict__, "feasible": False, "violations": tuple(messages)})
