"""Turning training examples into padded tensors (dynamic padding: each batch to its own longest)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from orchestai_core.model.vocab import BOS, EOS, Vocab
from orchestai_core.training_data import Example


@dataclass
class Encoded:
    """One example with its instruction's token states (from the frozen encoder) and label ids."""

    tokens: torch.Tensor  # T×E token states of a frozen encoder, or the T token ids when it is fine-tuned
    types: list[int]
    workers: list[int]    # -100 where the log recorded no worker
    parents: list[list[int]]


def encode_labels(example: Example, types: Vocab, workers: Vocab, max_nodes: int) -> tuple[list, list, list]:
    n = min(len(example.types), max_nodes)
    return ([types.get(t, types.get("<unk>", 0)) for t in example.types[:n]],
            [workers.get(w) for w in example.workers[:n]],
            [[p for p in ps if p < n] for ps in example.parents[:n]])


def collate(items: list[Encoded], types: Vocab) -> dict[str, torch.Tensor]:
    batch = len(items)
    t_max = max(item.tokens.shape[0] for item in items)
    n_max = max(len(item.types) for item in items)
    ids = items[0].tokens.dim() == 1
    tokens = torch.zeros(batch, t_max, dtype=torch.long) if ids else torch.zeros(batch, t_max, items[0].tokens.shape[1])
    token_mask = torch.zeros(batch, t_max, dtype=torch.bool)
    prev = torch.zeros(batch, n_max + 1, dtype=torch.long)
    emitted = torch.zeros(batch, n_max + 1, dtype=torch.long)
    type_targets = torch.full((batch, n_max + 1), -100, dtype=torch.long)
    worker_targets = torch.full((batch, n_max), -100, dtype=torch.long)
    edge_targets = torch.zeros(batch, n_max, n_max)
    node_valid = torch.zeros(batch, n_max, dtype=torch.bool)
    for b, item in enumerate(items):
        t, n = item.tokens.shape[0], len(item.types)
        tokens[b, :t] = item.tokens
        token_mask[b, :t] = True
        prev[b, 0] = types[BOS]
        prev[b, 1:n + 1] = torch.tensor(item.types, dtype=torch.long)
        emitted[b, :n] = torch.tensor(item.types, dtype=torch.long)
        emitted[b, n] = types[EOS]
        type_targets[b, :n + 1] = emitted[b, :n + 1]
        worker_targets[b, :n] = torch.tensor(item.workers, dtype=torch.long)
        node_valid[b, :n] = True
        for child, parents in enumerate(item.parents):
            for parent in parents:
                edge_targets[b, parent, child] = 1.0
    return {("input_ids" if ids else "tokens"): tokens, "token_mask": token_mask, "prev": prev, "emitted": emitted,
            "type_targets": type_targets, "worker_targets": worker_targets, "edge_targets": edge_targets,
            "node_valid": node_valid}
