"""The Phase-1 loss: L = L_CE + λ·L_DAG, with L_CE = cross-entropy on types and workers plus a binary
loss on edges, and L_DAG the NOTEARS acyclicity penalty tr(exp(A∘A)) − n of the predicted adjacency."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def acyclicity(adjacency: torch.Tensor, valid: torch.Tensor, scaled: bool = False) -> torch.Tensor:
    """NOTEARS h(A) = tr(exp(S)) − n of S = A∘A per graph (B×N×N, entries in [0, 1]); zero exactly on DAGs.

    Bounded for any adjacency: a graph whose largest row sum of S exceeds 1 has S divided by that sum
    (treated as a constant), so S's spectral radius is at most 1 and 0 ≤ h ≤ n·(e − 1). Sparse, nearly
    acyclic graphs (every row sum at most 1) get the plain NOTEARS value. Unbounded, a dense early
    adjacency of 40 nodes at 0.5 gave h ≈ 22,000 and swamped the loss. `scaled` also divides S by each
    graph's node count (a weaker penalty)."""
    pair = (valid.unsqueeze(-1) & valid.unsqueeze(-2)).to(adjacency.dtype)
    a = adjacency * pair * (1.0 - torch.eye(adjacency.shape[-1], device=adjacency.device, dtype=adjacency.dtype))
    squared = (a * a).float()
    if scaled:
        squared = squared / valid.sum(-1).clamp(min=1).to(squared.dtype).view(-1, 1, 1)
    largest_row = squared.sum(-1).amax(-1).detach().clamp(min=1.0)  # ≥ the spectral radius of S
    squared = squared / largest_row.view(-1, 1, 1)
    # Padded rows and columns are zero and add exactly 1 each to the trace, like valid nodes of a DAG.
    return torch.linalg.matrix_exp(squared).diagonal(dim1=-2, dim2=-1).sum(-1) - a.shape[-1]


def imitation_weights(worker_targets: torch.Tensor, choice_probs: torch.Tensor) -> torch.Tensor:
    """B×N: how much imitating each logged worker (B×N ids, -100 where none) counts: the probability with which
    the logging policy chose it (`choice_prob`, B×N, NaN where not recorded), 1 where that is not recorded, 0 where
    there is no worker.

    A policy that explores runs, now and then, a worker at random, which no reading of the request predicts: a
    selector that imitates every logged worker alike learns to memorise those draws. On the bundled corpus (one
    choice in ten explored) its validation loss rose from the 13th epoch on while the types kept improving, so the
    best checkpoint by validation loss stopped at epoch 17 of 50. Weighted by `choice_prob`, an exploration counts
    as little as it was likely (0.02 to 0.1 there, against 0.9 for the policy's own choice), and the selector learns
    the policy's preferences, sharpened (the expected loss is least at q ∝ π², whose likeliest worker is π's). The
    explored steps still teach the outcome model, which reweights them by 1/choice_prob."""
    weights = torch.nan_to_num(choice_probs.float(), nan=1.0)
    return weights.masked_fill(worker_targets == -100, 0.0)


def count_loss(totals: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Smooth-L1 error of the expected total counts against the gold ones (targets -100 are skipped)."""
    keep = targets != -100
    if not keep.any():
        return totals.sum().float() * 0.0
    return F.smooth_l1_loss(totals[keep].float(), targets[keep].float())


def planner_loss(type_logits, type_targets, worker_logits, worker_targets, edge_logits, edge_targets, valid,
                 lambda_dag: float, type_smoothing: float = 0.0, worker_smoothing: float = 0.0,
                 dag_scaled: bool = False, totals=None, count_targets=None,
                 lambda_count: float = 0.0, worker_weights: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Loss components and their total. Targets are -100 where there is nothing to learn (padding,
    or logs that recorded no worker); a batch without any worker adds a zero worker term, and so do
    `worker_logits` None (a run that leaves the selector out). `worker_weights` (B×N, `imitation_weights`) make
    the worker term a weighted mean over the logged steps; None weighs them alike.
    The smoothing rates are label smoothing of the two cross-entropies (for training, not validation)."""
    types = F.cross_entropy(type_logits.flatten(0, 1).float(), type_targets.flatten(), ignore_index=-100,
                            label_smoothing=type_smoothing)
    if worker_weights is None:  # every logged worker alike
        worker_weights = worker_targets != -100
    if worker_logits is None:  # a run whose logs record no worker leaves the selector out
        workers = type_logits.new_zeros((), dtype=torch.float32)
    elif bool((worker_weights > 0).any()):
        each = F.cross_entropy(worker_logits.flatten(0, 1).float(), worker_targets.flatten(), ignore_index=-100,
                               label_smoothing=worker_smoothing, reduction="none")
        weights = worker_weights.flatten().to(each.dtype)
        workers = (each * weights).sum() / weights.sum()
    else:
        workers = worker_logits.sum().float() * 0.0  # keeps the selector in the graph (DDP needs every gradient)
    pair = valid.unsqueeze(-1) & valid.unsqueeze(-2)
    pair &= ~torch.eye(valid.shape[1], dtype=torch.bool, device=valid.device)
    if pair.any():
        edges = F.binary_cross_entropy_with_logits(edge_logits[pair].float(), edge_targets[pair])
    else:  # only one-node workflows in this batch
        edges = edge_logits.sum().float() * 0.0
    dag = acyclicity(torch.sigmoid(edge_logits.float()), valid, dag_scaled).mean()
    terms = {"types": types, "workers": workers, "edges": edges, "dag": dag}
    out = {"loss": plain_loss(terms, lambda_dag), **terms}
    if totals is not None:
        out["counts"] = count_loss(totals, count_targets)
        out["loss"] = out["loss"] + lambda_count * out["counts"]
    return out


def plain_loss(terms: dict, lambda_dag: float):
    """L = L_CE + λ·L_DAG from `planner_loss`'s terms (tensors or floats): the validation loss."""
    return terms["types"] + terms["workers"] + terms["edges"] + lambda_dag * terms["dag"]


def term_sizes(type_targets: torch.Tensor, worker_weights: torch.Tensor, valid: torch.Tensor,
               count_targets: torch.Tensor) -> dict[str, float]:
    """What each of `planner_loss`'s terms is a mean over in this batch (its weighted count: type targets,
    the worker weights' sum, ordered pairs of distinct steps, graphs, count targets), so that the terms of
    several batches pool into the mean over all of them (`pooled_terms`)."""
    steps = valid.sum(-1)
    return {"types": float((type_targets != -100).sum()), "workers": float(worker_weights.float().sum()),
            "edges": float((steps * (steps - 1)).sum()), "dag": float(valid.shape[0]),
            "counts": float((count_targets != -100).sum())}


def pooled_terms(sums: dict[str, float], sizes: dict[str, float], lambda_dag: float) -> dict[str, float]:
    """The terms of several batches pooled: each term's sum of (batch mean × batch size) over the sum of its
    sizes (0 where no batch had any), and `plain_loss` of them, the value one batch of them all would give."""
    means = {k: sums[k] / sizes[k] if sizes[k] > 0 else 0.0 for k in sums if k != "loss"}
    return {"loss": plain_loss(means, lambda_dag), **means}
