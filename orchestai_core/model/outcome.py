"""Outcome model: for each sub-task and each worker of the catalogue, the predicted probability that the
worker succeeds, and its expected cost and latency, learned from the outcome of the one worker each logged
step ran (bandit feedback).

It reads the planner's node and token states but does not train them (they are detached): learning
outcomes cannot cost the plan's structure anything, and a corpus without outcomes leaves the head untrained.
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
    def __init__(self, dim: int, n_workers: int, heads: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.body = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU(), nn.Dropout(dropout))
        self.success = nn.Linear(dim, n_workers)
        self.cost = nn.Linear(dim, n_workers)
        self.latency = nn.Linear(dim, n_workers)

    @torch.no_grad()
    def start_from(self, success_rate: torch.Tensor, log_cost: torch.Tensor, log_latency: torch.Tensor) -> None:
        """Set the output biases to per-worker averages (W each) of the training logs, so training starts
        from each worker's typical outcome (costs span orders of magnitude) and learns what the step adds."""
        self.success.bias.copy_(torch.logit(success_rate.clamp(0.01, 0.99)))
        self.cost.bias.copy_(log_cost)
        self.latency.bias.copy_(log_latency)

    def forward(self, nodes: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor) -> OutcomePredictions:
        """Predictions from node states B×N×H and the instruction's token states B×T×H (both detached)."""
        nodes, tokens = nodes.detach(), tokens.detach()
        context, _ = self.attn(nodes, tokens, tokens, key_padding_mask=~mask, need_weights=False)
        hidden = self.body(torch.cat([nodes, context], -1))
        return OutcomePredictions(self.success(hidden), self.cost(hidden), self.latency(hidden))


def propensity_weights(choice_probs: torch.Tensor, clip: float) -> torch.Tensor:
    """1 / choice_prob per logged step, capped at `clip` (rare choices would otherwise dominate a batch);
    1 where the log gave no choice_prob (NaN): those steps are taken as if every worker had been as likely,
    the direct method's assumption."""
    weights = choice_probs.clamp(min=1.0 / clip).reciprocal()
    return torch.where(torch.isnan(choice_probs), torch.ones_like(choice_probs), weights)


def outcome_loss(predictions: OutcomePredictions, worker_targets: torch.Tensor, success_targets: torch.Tensor,
                 cost_targets: torch.Tensor, latency_targets: torch.Tensor,
                 weights: torch.Tensor) -> dict[str, torch.Tensor]:
    """Importance-weighted losses of the logged worker's outcome on every step that ran one: binary
    cross-entropy of success, squared error of log-cost and log-latency. Targets are NaN where unknown (a
    skipped step, a log without outcomes) and workers -100; `weights` are `propensity_weights`. Each term
    is a weighted mean over its known targets, so reweighting corrects for which worker the logging system
    preferred (workers it rarely chose count as much as those it usually chose), and a batch without
    any outcome adds zero."""
    chosen = worker_targets.clamp(min=0).unsqueeze(-1)
    ran = worker_targets >= 0
    out = {}
    for name, predicted, target, transform in (
            ("outcome_success", predictions.success, success_targets, None),
            ("outcome_cost", predictions.log_cost, cost_targets, lambda t: t.clamp(min=MIN_COST_USD).log()),
            ("outcome_latency", predictions.log_latency, latency_targets, lambda t: t.clamp(min=MIN_LATENCY_MS).log())):
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


def worker_priors(success: torch.Tensor, cost: torch.Tensor, latency: torch.Tensor, workers: torch.Tensor,
                  n_workers: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Per worker, from logged steps (1-D: outcome targets NaN where unknown, worker ids -100 where none):
    the smoothed success rate (successes + 1) / (runs + 2), and the mean log-cost and log-latency; a worker
    never seen gets the mean over all steps. None when no step has an outcome."""
    out = []
    for values, transform in ((success, None), (cost, lambda t: t.clamp(min=MIN_COST_USD).log()),
                              (latency, lambda t: t.clamp(min=MIN_LATENCY_MS).log())):
        known = (workers >= 0) & ~torch.isnan(values)
        if not known.any():
            return None
        goal = values[known].double() if transform is None else transform(values[known].double())
        ids = workers[known]
        sums = torch.zeros(n_workers, dtype=torch.float64).index_add_(0, ids, goal)
        counts = torch.zeros(n_workers, dtype=torch.float64).index_add_(0, ids, torch.ones_like(goal))
        if transform is None:
            out.append(((sums + 1) / (counts + 2)).float())
        else:
            out.append(torch.where(counts > 0, sums / counts.clamp(min=1), goal.mean()).float())
    return out[0], out[1], out[2]
