"""The order of a chain's steps, read off where its request asks for each of them.

People ask for the steps of a request one after another ("cancel flight CA1833 …; also look up tomorrow's
flights to Shanghai"), and logs written from such requests run the steps in that order: every one of
UltraTool's 3,027 plans is a chain, in the order its request names the tools. Which steps a plan has and in
which order it runs them are two questions. The consensus vote (`consensus.py`) picks a plan for its steps,
and the order comes with it from another request; the decoder's own order leans on the orders it learnt.

`StepOrder` reads, for each step of a plan, where in the request it is asked for: an attention over the
request's tokens whose query is the step type's name as the encoder reads it (so a rare type shares what its
name says with the others) plus a vector learnt per type; the step's place is the attention's expected
relative position (0 the first token, 1 the last). It is fitted on the training plans' orders (each pair of
steps of a plan: the earlier one must come first). `best_order` then re-orders a chain so that it agrees best
with both its own order and those places, `weight` trading the two (fitted on the validation logs at the end of
training, 0: keep every order as planned). Plans that are not chains keep their order: their parallel branches
say nothing about which step the request names first.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from orchestai_core.dag import Graph
from orchestai_core.model.vocab import name_matrix

RANK = 64           # width of the attention that places the steps
MAX_PERMUTED = 8    # longer chains keep their order
EPOCHS = 30
BATCH = 64
POOL = 8            # batches drawn together, then cut by request length
SHARPNESS = 20.0    # the pairwise loss's scale on a difference of places
WEIGHTS = (2.0, 4.0, 8.0, 16.0)  # what the fit tries for `weight` (beside 0, off)


class StepOrder(nn.Module):
    """Places of steps in their request: `types` (names, the learnt columns) and the encoder's reading of each
    name (`names`, len(types)×E)."""

    def __init__(self, types: Sequence[str], names: torch.Tensor, rank: int = RANK, weight: float = 0.0):
        super().__init__()
        if names.ndim != 2 or names.shape[0] != len(types):
            raise ValueError(f"a step order needs one name vector per type: got {tuple(names.shape)} for "
                             f"{len(types)} types")
        self.types = list(types)
        self.column = {t: j for j, t in enumerate(self.types)}
        self.register_buffer("names", F.normalize(names.detach().float().clone(), dim=-1))
        self.key = nn.Linear(names.shape[1], rank)
        self.query = nn.Linear(names.shape[1], rank)
        self.own = nn.Embedding(len(self.types), rank)  # what each type's place adds to its name's
        nn.init.zeros_(self.own.weight)
        self.weight = weight

    def positions(self, tokens: torch.Tensor, mask: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """B×N places in [0, 1] of steps (`columns`, B×N indices into `types`) in their requests' tokens
        (B×T×E frozen-encoder states, `mask` B×T true on tokens)."""
        keys = self.key(tokens.float())                                           # B×T×R
        queries = self.query(self.names[columns]) + self.own(columns)              # B×N×R
        scores = queries @ keys.transpose(1, 2) / keys.shape[-1] ** 0.5           # B×N×T
        scores = scores.masked_fill(~mask.bool().unsqueeze(1), torch.finfo(scores.dtype).min)
        lengths = mask.sum(1, keepdim=True).clamp(min=2).float()                  # B×1
        place = torch.arange(tokens.shape[1], device=tokens.device).float().unsqueeze(0) / (lengths - 1)
        return (scores.softmax(-1) * place.unsqueeze(1)).sum(-1)

    @torch.inference_mode()
    def places(self, tokens: torch.Tensor, mask: torch.Tensor, plans: Sequence[Sequence[str]]
               ) -> list[list[float] | None]:
        """Per plan (its step types), the places of its steps in its request (one per batch row of `tokens`);
        None for a plan with a type the order never learnt."""
        known = [all(t in self.column for t in plan) and len(plan) > 0 for plan in plans]
        width = max((len(p) for p, k in zip(plans, known) if k), default=0)
        if not width:
            return [None] * len(plans)
        columns = torch.zeros(len(plans), width, dtype=torch.long)
        for b, (plan, ok) in enumerate(zip(plans, known)):
            if ok:
                columns[b, :len(plan)] = torch.tensor([self.column[t] for t in plan])
        found = self.positions(tokens, mask, columns.to(tokens.device)).cpu().tolist()
        return [row[:len(plan)] if ok else None for row, plan, ok in zip(found, plans, known)]

    def to_dict(self) -> dict:
        return {"types": list(self.types), "rank": self.key.out_features, "weight": self.weight,
                "state": {k: v.detach().float().cpu() for k, v in self.state_dict().items()}}

    @classmethod
    def from_dict(cls, data: dict) -> StepOrder:
        order = cls(data["types"], data["state"]["names"], int(data["rank"]), float(data["weight"]))
        order.load_state_dict(data["state"])
        return order.eval()


def label(weight: float) -> str:
    """How a fit's table names a weight: "order off" for 0, else "order <weight>"."""
    return f"order {weight:g}" if weight else "order off"


def describe(weight: float | None) -> str:
    """A fitted step order in words, as `orchestai eval`, the Evaluate page and the run monitor say it."""
    if not weight:
        return "off (each plan's steps run in the order planned: re-ordering planned validation no better)"
    return f"on (a chain's steps re-ordered towards the order its request asks for them, weight {weight:g})"


def fitted_order(weight: float | None, validation: dict[str, dict]) -> str:
    """What a step-order fit kept, with its validation edge-F1 against the orders as planned (`validation`:
    metrics per setting, keyed "order off" and "order <weight>"), as the run's log and monitor say it."""
    off, kept = validation.get(label(0.0)), validation.get(label(weight)) if weight else None
    figures = (f"; validation edge-F1 {off['edge_f1']:.3f} in the orders as planned, {kept['edge_f1']:.3f} "
               "re-ordered" if off and kept else "")
    return describe(weight) + figures


def _batch(order: StepOrder, tokens: Sequence[torch.Tensor], plans: Sequence[Sequence[str]]
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(token states B×T×E, mask B×T, step columns B×N, pairs B×N×N: step i runs before step j, both steps, of
    different types) of requests and their plans, for `fit_step_order`."""
    states = nn.utils.rnn.pad_sequence([t.float() for t in tokens], batch_first=True)
    mask = torch.zeros(states.shape[:2], dtype=torch.bool)
    width = max(len(plan) for plan in plans)
    columns = torch.zeros(len(plans), width, dtype=torch.long)
    steps = torch.zeros(len(plans), width, dtype=torch.bool)
    for b, (state, plan) in enumerate(zip(tokens, plans)):
        mask[b, :state.shape[0]] = True
        columns[b, :len(plan)] = torch.tensor([order.column[t] for t in plan])
        steps[b, :len(plan)] = True
    before = torch.ones(width, width, dtype=torch.bool).triu(1)
    pairs = before & steps.unsqueeze(1) & steps.unsqueeze(2) & (columns.unsqueeze(1) != columns.unsqueeze(2))
    return states, mask, columns, pairs


def reordered(graph: Graph, places: Sequence[float] | None, weight: float) -> tuple[Graph, list[int]] | None:
    """`graph` with its steps in `best_order` (types and workers moved together, the chain's links kept) and that
    order, or None when it keeps its own."""
    steps = best_order(graph.types, graph.parents, places, weight)
    if steps is None:
        return None
    return Graph([graph.types[i] for i in steps], [graph.workers[i] for i in steps], graph.parents), steps


def is_chain(parents: Sequence[Sequence[int]]) -> bool:
    """Whether every step depends on the one before it, and only on it."""
    return all(list(p) == ([i - 1] if i else []) for i, p in enumerate(parents))


def best_order(types: Sequence[str], parents: Sequence[Sequence[int]], places: Sequence[float] | None,
               weight: float) -> list[int] | None:
    """The order (a permutation of the steps) a chain should run in, or None to keep its own: not a chain,
    fewer than two or more than `MAX_PERMUTED` steps, no places, or `weight` 0. Each order scores, over every
    pair of steps it runs one before the other, +1 if the plan ran them so and −1 if not, plus `weight` × how
    much later the request places the second; the best order wins, the plan's own unless another scores
    strictly more. Every order is weighed, by dynamic programming over the sets of steps run first (2^n · n)."""
    n = len(types)
    if not weight or places is None or not 2 <= n <= MAX_PERMUTED or not is_chain(parents):
        return None
    prefer = [[(1.0 if a < b else -1.0) + weight * (places[b] - places[a]) for b in range(n)] for a in range(n)]
    own = sum(prefer[a][b] for a in range(n) for b in range(a + 1, n))
    sets = 1 << n
    into = [[0.0] * n for _ in range(sets)]  # into[S][j]: what running every step of S before step j scores
    for subset in range(1, sets):
        low = (subset & -subset).bit_length() - 1
        rest = into[subset & (subset - 1)]
        into[subset] = [rest[j] + prefer[low][j] for j in range(n)]
    best, last = [float("-inf")] * sets, [0] * sets
    best[0] = 0.0
    for subset in range(1, sets):
        for j in range(n):
            if subset >> j & 1:
                before = subset ^ (1 << j)
                value = best[before] + into[before][j]
                if value > best[subset] + 1e-12:
                    best[subset], last[subset] = value, j
    if best[sets - 1] <= own + 1e-9:
        return None
    order, subset = [], sets - 1
    while subset:
        order.append(last[subset])
        subset ^= 1 << last[subset]
    return order[::-1]


def fit_step_order(tokens: Sequence[torch.Tensor], plans: Sequence[Sequence[str]], names: dict[str, torch.Tensor],
                   epochs: int = EPOCHS, seed: int = 0) -> StepOrder | None:
    """A `StepOrder` fitted on requests (each T×E frozen-encoder token states) and their plans' step types in
    their order; `names`, each type's name vector. None when no plan has two steps of different types (nothing
    to learn an order from)."""
    if len(tokens) != len(plans):
        raise ValueError(f"fitting a step order needs one request per plan: got {len(tokens)} for {len(plans)}")
    used = [i for i, plan in enumerate(plans) if len(set(plan)) >= 2]
    if not used:
        return None
    types = sorted({t for plan in plans for t in plan})
    vectors = name_matrix(names, types, tokens[used[0]].shape[-1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        order = StepOrder(types, vectors)
    optimiser = torch.optim.Adam(order.parameters(), lr=3e-3, weight_decay=1e-4)
    floats = {i: tokens[i].float() for i in used}
    shuffle = random.Random(seed)
    for _ in range(epochs):
        # each epoch its own batches, of requests of similar length (little padding): shuffled, then sorted by
        # length within pools of `POOL` batches
        shuffle.shuffle(used)
        pools = [sorted(used[start:start + POOL * BATCH], key=lambda i: floats[i].shape[0])
                 for start in range(0, len(used), POOL * BATCH)]
        parts = [pool[start:start + BATCH] for pool in pools for start in range(0, len(pool), BATCH)]
        shuffle.shuffle(parts)
        for part in parts:
            states, mask, columns, pairs = _batch(order, [floats[i] for i in part], [plans[i] for i in part])
            places = order.positions(states, mask, columns)                      # B×N
            later = places.unsqueeze(1) - places.unsqueeze(2)                    # [b, i, j]: place j − place i
            loss = F.softplus(-SHARPNESS * later[pairs]).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return order.eval()
