"""Turning training examples into padded tensors: dynamic padding (each batch to its own longest) and
batches of similar length, so little compute goes to padding."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch.nn.utils.rnn import pad_sequence

from orchestai_core.examples import Example
from orchestai_core.model.vocab import BOS, EOS, UNK, Vocab


@dataclass
class Encoded:
    """One example: its instruction's cached encoder states and its label ids."""

    tokens: torch.Tensor  # T×E, states after the frozen encoder layers
    numbers: torch.Tensor  # T×2, the number each token writes and its enumeration's size (0 for none)
    types: list[int]
    workers: list[int]    # -100 where the log recorded no worker (or a worker unknown to the vocabulary)
    parents: list[list[int]]
    # The logged worker's outcome per step, NaN where unknown (none recorded, a skipped step): success 1/0,
    # cost (USD), latency (ms), and the probability with which the logging system chose that worker.
    # Empty lists mean no outcomes at all.
    success: list[float] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    choice_probs: list[float] = field(default_factory=list)


OUTCOME_STATUSES = {"success": 1.0, "failed": 0.0}  # skipped steps ran no worker: nothing to learn


def encode_outcomes(example: Example, max_nodes: int) -> tuple[list, list, list, list]:
    """Success (1/0), cost, latency and choice_prob of each step's logged worker, cut to the first `max_nodes`
    nodes; NaN where unknown. A skipped step, or one without a worker, has no outcome at all."""
    n = min(len(example.types), max_nodes)

    def column(values: list, i: int) -> float:
        value = values[i] if i < len(values) else None
        return math.nan if value is None else float(value)

    success, costs, latencies, probs = [], [], [], []
    for i in range(n):
        status = example.statuses[i] if i < len(example.statuses) else None
        ran = status != "skipped" and example.workers[i] is not None
        success.append(OUTCOME_STATUSES.get(status, math.nan) if ran else math.nan)
        costs.append(column(example.costs, i) if ran else math.nan)
        latencies.append(column(example.latencies, i) if ran else math.nan)
        probs.append(column(example.choice_probs, i) if ran else math.nan)
    return success, costs, latencies, probs


def encode_labels(example: Example, types: Vocab, workers: Vocab, max_nodes: int) -> tuple[list, list, list]:
    """Type ids (UNK for unseen types), worker ids and parents, cut to the first `max_nodes` nodes."""
    n = min(len(example.types), max_nodes)
    return ([types.get(t, types[UNK]) for t in example.types[:n]],
            [workers.get(w) for w in example.workers[:n]],
            [[p for p in ps if p < n] for ps in example.parents[:n]])


def bucketed_batches(lengths: Sequence, batch_size: int, rng: random.Random, window: int = 8) -> list[list[int]]:
    """Shuffled batches of indices; within windows of `window` batches, examples of similar length
    share a batch, and the batch order is shuffled again. A length may be a tuple, compared in order
    (training: workflow steps, then instruction tokens, so that requests of as many steps but very different
    wording lengths do not pad each other)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = batch_size * window
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: lengths[i])
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def workflow_inputs(type_ids: list[list[int]], types: Vocab) -> tuple[torch.Tensor, ...]:
    """What the decoder reads when it is fed given workflows (teacher forcing): their lengths (B), which
    nodes are real (B×N), the previous type at each step, BOS first (B×(N+1)), and the type emitted at each
    step, END last (B×(N+1)); padded with 0."""
    lengths = torch.tensor([len(t) for t in type_ids])
    n_max = int(lengths.max())
    node_valid = torch.arange(n_max).unsqueeze(0) < lengths.unsqueeze(1)
    prev = _padded([[types[BOS], *t] for t in type_ids], n_max + 1, 0)
    emitted = _padded([[*t, types[EOS]] for t in type_ids], n_max + 1, 0)
    return lengths, node_valid, prev, emitted


def adjacency(parents: list[list[list[int]]], n_max: int) -> torch.Tensor:
    """B×N×N: 1 where node p is a parent of node c ([b, p, c]), else 0."""
    out = torch.zeros(len(parents), n_max, n_max)
    edges = torch.tensor([(b, p, c) for b, plan in enumerate(parents) for c, ps in enumerate(plan) for p in ps],
                         dtype=torch.long).view(-1, 3)
    out[edges[:, 0], edges[:, 1], edges[:, 2]] = 1.0
    return out


def collate(items: list[Encoded], types: Vocab) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest instruction and workflow; targets are -100 where nothing is learnt."""
    n_max = max(len(item.types) for item in items)
    tokens = pad_sequence([item.tokens for item in items], batch_first=True)
    numbers = pad_sequence([item.numbers for item in items], batch_first=True)
    token_lengths = torch.tensor([item.tokens.shape[0] for item in items])
    token_mask = torch.arange(tokens.shape[1]).unsqueeze(0) < token_lengths.unsqueeze(1)
    lengths, node_valid, prev, emitted = workflow_inputs([item.types for item in items], types)
    worker_targets = _padded([item.workers for item in items], n_max, -100, torch.long)
    edge_targets = adjacency([item.parents for item in items], n_max)
    # Each step's previous type, how many times it occurs in the whole workflow (-100 at BOS and padding).
    totals = torch.nn.functional.one_hot(prev, len(types)).sum(1).gather(1, prev).float()
    count_targets = totals.masked_fill((prev == types[BOS]) | (prev == 0), -100.0)
    type_targets = emitted.masked_fill(emitted == types[UNK], -100)
    steps = torch.arange(n_max + 1).unsqueeze(0)
    type_targets = type_targets.masked_fill(steps > lengths.unsqueeze(1), -100)
    return {"tokens": tokens, "token_mask": token_mask, "numbers": numbers, "prev": prev, "emitted": emitted,
            "type_targets": type_targets, "count_targets": count_targets, "worker_targets": worker_targets,
            "edge_targets": edge_targets, "node_valid": node_valid,
            **{f"{name}_targets": _outcome_column(items, name, n_max)
               for name in ("success", "costs", "latencies", "choice_probs")}}


def _outcome_column(items: list[Encoded], name: str, n_max: int) -> torch.Tensor:
    """B×N float tensor of one outcome field, NaN where unknown and on padding."""
    return _padded([getattr(item, name)[:len(item.types)] for item in items], n_max, math.nan, torch.float32)


def _padded(rows: list[list], width: int, fill: float, dtype: torch.dtype | None = None) -> torch.Tensor:
    """One tensor of the rows, each padded with `fill` to `width` (one call for the whole column: a tensor per
    row costs more than the padding)."""
    return torch.tensor([list(row) + [fill] * (width - len(row)) for row in rows], dtype=dtype)
