"""The Phase-1 loss: L = L_CE + λ·L_DAG, with L_CE = cross-entropy on types and workers plus a binary
loss on edges, and L_DAG the NOTEARS acyclicity penalty (scaled: tr(exp(A∘A/n)) − n) of the predicted adjacency."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def acyclicity(adjacency: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """NOTEARS h(A) = tr(exp(A∘A / n)) − N per graph (B×N×N, entries in [0, 1]); zero exactly on DAGs.

    Dividing A∘A by the graph's node count n keeps the exponential bounded (spectral radius ≤ 1, so
    h ≤ n(e − 1)) without changing where it is zero: at 40 nodes the unscaled penalty reaches e^40
    on an undecided adjacency and its gradient drowns every other loss term.
    """
    pair = (valid.unsqueeze(-1) & valid.unsqueeze(-2)).to(adjacency.dtype)
    a = adjacency * pair
    a = a * (1.0 - torch.eye(a.shape[-1], device=a.device, dtype=a.dtype))
    size = a.shape[-1]
    n = valid.sum(-1).clamp(min=1).to(a.dtype).view(-1, 1, 1)
    # Padded rows and columns are zero and add exactly 1 each to the trace, like valid ones on a DAG.
    return torch.linalg.matrix_exp((a * a / n).float()).diagonal(dim1=-2, dim2=-1).sum(-1) - size


def planner_loss(type_logits, type_targets, worker_logits, worker_targets, edge_logits, edge_targets, valid,
                 lambda_dag: float) -> dict[str, torch.Tensor]:
    """Loss components and their total. Targets use -100 where there is nothing to learn
    (padding, or logs that recorded no worker)."""
    types = F.cross_entropy(type_logits.flatten(0, 1), type_targets.flatten(), ignore_index=-100)
    has_worker = (worker_targets != -100).any()
    workers = (F.cross_entropy(worker_logits.flatten(0, 1), worker_targets.flatten(), ignore_index=-100)
               if has_worker else type_logits.new_zeros(()))
    pair = valid.unsqueeze(-1) & valid.unsqueeze(-2)
    pair &= ~torch.eye(valid.shape[1], dtype=torch.bool, device=valid.device)
    edges = F.binary_cross_entropy_with_logits(edge_logits[pair], edge_targets[pair]) if pair.any() \
        else type_logits.new_zeros(())
    dag = acyclicity(torch.sigmoid(edge_logits), valid).mean()
    total = types + workers + edges + lambda_dag * dag
    return {"loss": total, "types": types, "workers": workers, "edges": edges, "dag": dag}
