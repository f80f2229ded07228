"""Outcome model: for each sub-task and each worker of the catalogue, the predicted probability that the
worker succeeds, and its expected cost and latency, learned from the outcome of the one worker each logged
step ran (bandit feedback).

It reads the planner's node and token states but does not train them (they are detached): learning
outcomes cannot cost the plan's structure anything, and a corpus without outcomes leaves the head untrained.

Success is predicted in two parts. The *prior* is a logistic table over (step type, worker), fitted once
on the training logs before training (`success_prior`): each worker's own rate, moved per type as far as
the runs of that worker on that type warrant (a ridge penalty of `strength` pseudo-runs), with the same
importance weights as the head. The head learns the *residual*: what the request and the step's place in
the workflow add. At prediction time the residual counts in proportion to the runs behind the pair,
runs / (runs + `residual_runs`): a worker the logs ran on a type a handful of times is judged by the table
alone, a worker they ran thousands of times by the request too. Measured on the synthetic corpus, the head
alone picked lucky errors on rarely logged pairs (the winner's curse: 0.896 true success at 54 % of the
logging policy's cost against its 0.908); prior plus shrunk residual reaches the logging policy's success
at under 60 % of its cost on four seeds (README, "Off-policy estimates").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

MIN_COST_USD = 1e-7    # cost targets are learnt on a log scale; a free step counts as this cheap
MIN_LATENCY_MS = 1.0


@dataclass
class OutcomePredictions:
    """B×N×W tensors: success logits, log-cost (USD) and log-latency (ms) of every worker on every step."""

    success: torch.Tensor
    log_cost: torch.Tensor
    log_latency: torch.Tensor

    def p_success(self) -> torch.Tensor:
        return torch.sigmoid(self.success.float())

    def cost_usd(self) -> torch.Tensor:
        return self.log_cost.float().exp()

    def latency_ms(self) -> torch.Tensor:
        return self.log_latency.float().exp()


class OutcomeHead(nn.Module):
    def __init__(self, dim: int, n_types: int, n_workers: int, heads: int, dropout: float,
                 residual_runs: float = 100.0):
        super().__init__()
        self.residual_runs = residual_runs
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.body = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(), nn.Dropout(dropout))
        self.success = nn.Linear(dim, n_workers)
        self.cost = nn.Linear(dim, n_workers)
        self.latency = nn.Linear(dim, n_workers)
        nn.init.zeros_(self.success.bias)  # a residual: it starts from the prior
        # Success logits per (type, worker) and the training logs' runs behind them (`success_prior`).
        self.register_buffer("prior", torch.zeros(n_types, n_workers))
        self.register_buffer("prior_runs", torch.zeros(n_types, n_workers))

    @torch.no_grad()
    def set_prior(self, prior: torch.Tensor, prior_runs: torch.Tensor) -> None:
        """The success prior: V×W logits and the runs behind them (`success_prior`)."""
        self.prior.copy_(prior)
        self.prior_runs.copy_(prior_runs)

    @torch.no_grad()
    def start_from(self, log_cost: torch.Tensor | None, log_latency: torch.Tensor | None) -> None:
        """Set the cost and latency biases to per-worker averages (W each, `worker_log_means`) of the training
        logs, so training starts from each worker's typical outcome (costs span orders of magnitude) and
        learns what the step adds; None leaves that output as initialised (the logs record none)."""
        for layer, values in ((self.cost, log_cost), (self.latency, log_latency)):
            if values is not None:
                layer.bias.copy_(values)

    def forward(self, nodes: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor,
                type_ids: torch.Tensor) -> OutcomePredictions:
        """Predictions from node states B×N×H, the instruction's token states B×T×H (both detached) and the
        nodes' type ids B×N. Training learns the residual in full; in eval mode it is shrunk by the runs
        behind each (type, worker) pair (see the module docstring)."""
        nodes, tokens = nodes.detach(), tokens.detach()
        context, _ = self.attn(nodes, tokens, tokens, key_padding_mask=~mask, need_weights=False)
        hidden = self.body(torch.cat([nodes, context], -1))
        residual = self.success(hidden)
        if not self.training:
            runs = self.prior_runs[type_ids]
            residual = residual * runs / (runs + self.residual_runs)
        return OutcomePredictions(self.prior[type_ids] + residual, self.cost(hidden), self.latency(hidden))


def propensity_weights(choice_probs: torch.Tensor, clip: float) -> torch.Tensor:
    """1 / choice_prob per logged step, capped at `clip` (rare choices would otherwise dominate a batch);
    1 where the log gave no choice_prob (NaN): those steps are taken as if every worker had been as likely,
    the direct method's assumption."""
    weights = choice_probs.clamp(min=1.0 / clip).reciprocal()
    return torch.where(torch.isnan(choice_probs), torch.ones_like(choice_probs), weights)


OUTCOME_TERMS = ("outcome_success", "outcome_cost", "outcome_latency")


def outcome_loss(predictions: OutcomePredictions | None, worker_targets: torch.Tensor, success_targets: torch.Tensor,
                 cost_targets: torch.Tensor, latency_targets: torch.Tensor,
                 weights: torch.Tensor) -> dict[str, torch.Tensor]:
    """Importance-weighted losses of the logged worker's outcome on every step that ran one: binary
    cross-entropy of success, squared error of log-cost and log-latency. Targets are NaN where unknown (a
    skipped step, a log without outcomes) and workers -100; `weights` are `propensity_weights`. Each term
    is a weighted mean over its known targets, so reweighting corrects for which worker the logging system
    preferred (workers it rarely chose count as much as those it usually chose), and a batch without
    any outcome adds zero, as do `predictions` None (a run whose logs record no outcome leaves the head out)."""
    if predictions is None:
        return {name: success_targets.new_zeros((), dtype=torch.float32) for name in OUTCOME_TERMS}
    chosen = worker_targets.clamp(min=0).unsqueeze(-1)
    ran = worker_targets >= 0
    out = {}
    for name, (predicted, target, transform) in zip(OUTCOME_TERMS, (
            (predictions.success, success_targets, None),
            (predictions.log_cost, cost_targets, lambda t: t.clamp(min=MIN_COST_USD).log()),
            (predictions.log_latency, latency_targets, lambda t: t.clamp(min=MIN_LATENCY_MS).log()))):
        value = predicted.gather(-1, chosen).squeeze(-1).float()
        known = ran & ~torch.isnan(target)
        if not known.any():
            out[name] = predicted.sum().float() * 0.0  # keeps the head in the graph (DDP needs every gradient)
            continue
        goal = target[known].float()
        goal = goal if transform is None else transform(goal)
        if transform is None:
            each = nn.functional.binary_cross_entropy_with_logits(value[known], goal, reduction="none")
        else:
            each = (value[known] - goal) ** 2
        w = weights[known].float()
        out[name] = (each * w).sum() / w.sum()
    return out


def outcome_sizes(worker_targets: torch.Tensor, success_targets: torch.Tensor, cost_targets: torch.Tensor,
                  latency_targets: torch.Tensor, weights: torch.Tensor) -> dict[str, float]:
    """What each of `outcome_loss`'s terms is a weighted mean over in this batch: the sum of `weights` over the
    steps whose logged worker ran with that outcome known (`loss.pooled_terms` pools batches by them)."""
    ran = worker_targets >= 0
    return {name: float(weights[ran & ~torch.isnan(target)].float().sum())
            for name, target in zip(OUTCOME_TERMS, (success_targets, cost_targets, latency_targets))}


def success_prior(type_ids: torch.Tensor, workers: torch.Tensor, success: torch.Tensor, choice_probs: torch.Tensor,
                  n_types: int, n_workers: int, strength: float = 1.0, clip: float = 20.0,
                  ) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The outcome model's success prior from logged steps (1-D each: type ids, worker ids -100 where none,
    success 1/0 NaN where unknown, choice_prob NaN where unknown): V×W logits b[w] + d[t, w] maximising the
    importance-weighted (`propensity_weights`, normalised to mean 1) log-likelihood less `strength` · Σ d²,
    and the V×W counts of runs behind them. A pair never run gets its worker's logit b[w]; a worker never
    run the logit of the overall success rate. None when no step has an outcome."""
    known = (workers >= 0) & ~torch.isnan(success)
    if not known.any():
        return None
    t, w, y = type_ids[known].long(), workers[known].long(), success[known].double()
    weights = propensity_weights(choice_probs[known].double(), clip)
    weights = weights * len(weights) / weights.sum()
    runs = torch.zeros(n_types, n_workers, dtype=torch.float64).index_put_((t, w), torch.ones_like(y),
                                                                           accumulate=True)
    wins = torch.zeros(n_workers, dtype=torch.float64).index_add_(0, w, y)
    counts = runs.sum(0)
    rate = torch.where(counts > 0, (wins + 1) / (counts + 2), (y.sum() + 1) / (len(y) + 2))
    base = torch.logit(rate).requires_grad_()
    shift = torch.zeros(n_types, n_workers, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([base, shift], max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12,
                                  line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        optimizer.zero_grad()
        logits = base[w] + shift[t, w]
        loss = (nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none") * weights).sum() \
            + strength * shift.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(objective)
    logits = (base.detach().unsqueeze(0) + shift.detach()).clamp(-12.0, 12.0)
    return logits.float(), runs.float()


def worker_log_means(values: torch.Tensor, workers: torch.Tensor, n_workers: int, floor: float) -> torch.Tensor | None:
    """Per worker, the mean log of a logged outcome (1-D `values`, e.g. cost or latency, NaN where unknown,
    floored at `floor`; worker ids -100 where none); a worker never seen gets the mean over all steps. None
    when no step records it."""
    known = (workers >= 0) & ~torch.isnan(values)
    if not known.any():
        return None
    goal = values[known].double().clamp(min=floor).log()
    ids = workers[known]
    sums = torch.zeros(n_workers, dtype=torch.float64).index_add_(0, ids, goal)
    counts = torch.zeros(n_workers, dtype=torch.float64).index_add_(0, ids, torch.ones_like(goal))
    return torch.where(counts > 0, sums / counts.clamp(min=1), goal.mean()).float()
