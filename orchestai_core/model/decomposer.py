"""Task decomposer: an LSTM decoder that emits sub-task types one by one until END, attending over the
instruction's tokens. Its states (with the emitted type) are the sub-task embeddings.

Two things a request asks of the decoder that plain content attention cannot give:

- *Walking through the request.* "…, then email it to Maria. Also make slides for the board." asks for
  one chain per clause, in order. The attention is location-aware (it sees where it looked at the
  previous step, how much each token has been looked at so far, and what lies before its last focus),
  and a second LSTM layer reads what it found, so the decoder moves on to the next clause instead of
  finding the same one again.
- *Counting repeated branches* ("reconcile these seven files", "translate it into French, German and
  Dutch"): attention weights sum to one, so they cannot count. A count reader points at the numbers
  the request writes and at the sizes of its enumerations (see `numerals`). How many times the request
  asks for a type mixes those counts, with weights that depend on the type and on the request (a
  summary is one step of a report but one per paper of a literature review); every step sees how many
  of the type it just emitted remain — the decision to repeat a branch or move on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from orchestai_core.model.row_decoding import beam_row, greedy_row

MAX_OCCURRENCE = 64
GREEDY, SEARCHED = 0, 1  # how `decode` found a plan: greedy decoding (provably the beam's plan), the search
MARGIN = 1e-3  # log-probability by which a greedy plan must be the most probable (the beam's rows round apart)
LOCATION_WIDTH = 5  # the previous step's attention, shifted by -2..+2 tokens, informs the next


class CountReader(nn.Module):
    """B×3·heads counts read off the instruction: 2·heads pointers at a number it writes or at the size of
    one of its enumerations, and `heads` plain counts of tokens.

    A count is *pointed at*: each pointer head puts a softmax over the tokens that carry one (and a
    "none" slot worth 0), so a confident head reads 9 off "nine" or off the "and" closing a list of nine,
    exactly, where a sum of gates would read 8.1 at a gate of 0.9 — and one step too few in a branch
    count costs the whole plan. "Five chapters" and "A, B, C, D and E" look alike to a head, so the
    same head can serve either phrasing. The plain count is a sum of learned per-token gates."""

    def __init__(self, enc_dim: int, hidden: int, heads: int):
        super().__init__()
        self.scores = nn.Sequential(nn.Linear(enc_dim, hidden), nn.GELU(), nn.Linear(hidden, 3 * heads))
        self.none = nn.Parameter(torch.zeros(2 * heads))  # the score of pointing at no count
        nn.init.constant_(self.scores[-1].bias, -3.0)  # token counts start near zero
        self.heads = heads

    def forward(self, tokens: torch.Tensor, numbers: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`numbers` B×T×2: per token, the number its word writes and the size of the enumeration it closes."""
        pointers = 2 * self.heads
        scores = self.scores(tokens)
        values = numbers.to(tokens.dtype).sum(-1, keepdim=True)  # B×T×1: a token carries one or the other
        candidates = (values > 0) & mask.unsqueeze(-1)
        pointed = scores[..., :pointers].masked_fill(~candidates, torch.finfo(scores.dtype).min)
        none = self.none.view(1, 1, -1).expand(pointed.shape[0], 1, -1).to(scores.dtype)
        weights = torch.cat([pointed, none], 1).softmax(1)[:, :-1]  # B×T×pointers, the none slot dropped
        gates = torch.sigmoid(scores[..., pointers:]) * mask.unsqueeze(-1).to(tokens.dtype)
        return torch.cat([(weights * values).sum(1), gates.sum(1)], -1)


@dataclass
class Request:
    """What the decoder reads of one batch of instructions, computed once before decoding. The last
    token is a learned sentinel: where the attention goes when nothing in the request is left to do."""

    keys: torch.Tensor      # B×(T+1)×H, attention keys (scaled)
    values: torch.Tensor    # B×(T+1)×H
    mask: torch.Tensor      # B×(T+1), True on real tokens and the sentinel
    salience: torch.Tensor  # B×(T+1)×K, how much each token asks for work (0 on padding and the sentinel)
    pooled: torch.Tensor    # B×H
    counts: torch.Tensor    # B×3·heads

    def rows(self, index: torch.Tensor) -> Request:
        """The same request for the batch rows `index` only."""
        return Request(*(getattr(self, f.name)[index] for f in fields(self)))


LOCATION_FEATURES = LOCATION_WIDTH + 2  # the shifted previous weights, coverage, and what lies before
SALIENCE_HEADS = 4
POOL_HEADS = 4


def location_features(previous: torch.Tensor, coverage: torch.Tensor) -> torch.Tensor:
    """B×T×F per token: the previous step's weights at offsets -2..+2, the attention it has had so far,
    and how much of the previous step's attention lay on or before it (moving on means going past)."""
    half = LOCATION_WIDTH // 2
    shifted = F.pad(previous, (half, half)).unfold(-1, LOCATION_WIDTH, 1)
    return torch.cat([shifted, coverage.unsqueeze(-1), previous.cumsum(-1).unsqueeze(-1)], -1)


class LocationAttention(nn.Module):
    """Dot-product attention whose scores also see where the previous step looked and what has been
    covered, weighted by the decoder's state: enough to stay on a clause or move along to the next.
    Each step also reports what is left uncovered (salient tokens not yet attended), which tells the
    decoder whether the request still asks for something.

    The content scores of all steps come from one matrix product; only the cheap location terms run
    step by step, so teacher-forced training stays fast."""

    def __init__(self, dim: int):
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.location = nn.Linear(dim, LOCATION_FEATURES)
        nn.init.zeros_(self.location.weight)
        nn.init.zeros_(self.location.bias)

    def prepare(self, h: torch.Tensor, request: Request) -> tuple[torch.Tensor, torch.Tensor]:
        """(content scores R×S×T, location weights R×S×F) for decoder states `h` (R×S×H), where the R rows
        are the B requests' rows in order, R/B each (a beam's hypotheses share their request's keys)."""
        rows, steps, _ = h.shape
        batch, tokens = request.mask.shape
        query = self.query(h).reshape(batch, -1, h.shape[-1])
        content = torch.bmm(query, request.keys.transpose(1, 2))
        content = content.masked_fill(~request.mask.unsqueeze(1), torch.finfo(content.dtype).min)
        return content.view(rows, steps, tokens), self.location(h)

    @staticmethod
    def step(request: Request, content: torch.Tensor, location: torch.Tensor, previous: torch.Tensor,
             coverage: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step from its content scores (R×T) and location weights (R×F) of the requests' rows (R/B each,
        as in `prepare`): (attention weights R×T, coverage R×T, uncovered salience R×K)."""
        features = location_features(previous, coverage)
        weights = (content + torch.bmm(features, location.unsqueeze(-1)).squeeze(-1)).softmax(-1)
        coverage = coverage + weights
        left = torch.relu(1.0 - coverage).view(len(request.mask), -1, coverage.shape[-1])
        uncovered = torch.bmm(left, request.salience).view(len(coverage), -1)
        return weights, coverage, uncovered

    def forward(self, h: torch.Tensor, request: Request) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention weights B×S×T and uncovered salience B×S×K for a sequence of decoder states (teacher forcing)."""
        content, location = self.prepare(h, request)
        weights = torch.zeros_like(content[:, 0])
        coverage, steps, left = weights, [], []
        for t in range(h.shape[1]):
            weights, coverage, uncovered = self.step(request, content[:, t], location[:, t], weights, coverage)
            steps.append(weights)
            left.append(uncovered)
        return torch.stack(steps, 1), torch.stack(left, 1)


@dataclass
class DecoderState:
    """Where decoding stands for each row: both LSTM layers, the attention's last weights and
    coverage, how often each type has been emitted, and the totals each type is expected to reach;
    with what each row reads of its request at every step (its pooled vector and counts). A request
    may have several rows (a beam's hypotheses), next to each other."""

    h1: torch.Tensor
    c1: torch.Tensor
    h2: torch.Tensor
    c2: torch.Tensor
    previous: torch.Tensor  # B×(T+1), last step's attention weights
    coverage: torch.Tensor  # B×(T+1)
    seen: torch.Tensor      # B×V
    totals: torch.Tensor    # B×V, fixed for a request
    pooled: torch.Tensor    # B×H, the request's
    counts: torch.Tensor    # B×3·heads, the request's

    def rows(self, index: torch.Tensor) -> DecoderState:
        return DecoderState(*(getattr(self, f.name)[index] for f in fields(self)))


def lstm_step(lstm: nn.LSTM, x: torch.Tensor,
              state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of a one-layer nn.LSTM (B×D) with its own weights: a third of a length-1 call's cost."""
    return torch.lstm_cell(x, state, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)


class TaskDecomposer(nn.Module):
    """Two LSTM layers around a location-aware attention: the first reads the emitted types (and what
    remains to emit), the attention finds the part of the request they answer, the second reads both."""

    row_decoding = True  # one row in inference on the CPU decodes in NumPy (`_greedy`); False: always torch

    def __init__(self, n_types: int, dim: int, emb_dim: int, max_nodes: int, dropout: float, count_heads: int = 4):
        super().__init__()
        self.type_emb = nn.Embedding(n_types, emb_dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_nodes + 1, emb_dim)
        self.occ_emb = nn.Embedding(MAX_OCCURRENCE + 1, emb_dim)
        self.counter = CountReader(dim, dim, count_heads)
        n_counts = 3 * count_heads + 1
        self.mix = nn.Embedding(n_types, n_counts)  # per type: its total count from the counts
        nn.init.zeros_(self.mix.weight)
        with torch.no_grad():
            self.mix.weight[:, -1] = 1.0  # every type starts out expected once
        self.mix_by_request = nn.Sequential(nn.Linear(emb_dim + dim, dim), nn.Tanh(), nn.Linear(dim, n_counts))
        nn.init.zeros_(self.mix_by_request[-1].weight)
        nn.init.zeros_(self.mix_by_request[-1].bias)
        self.remaining = nn.Sequential(nn.Linear(2 * n_counts, emb_dim), nn.Tanh())
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.sentinel = nn.Parameter(torch.randn(2, dim) / dim ** 0.5)  # its key and value
        self.salience = nn.Linear(dim, SALIENCE_HEADS)
        self.pool_scores = nn.Linear(dim, POOL_HEADS)
        self.pool = nn.Linear((POOL_HEADS + 1) * dim, dim)
        self.init_state = nn.Linear(dim, 4 * dim)
        self.lstm = nn.LSTM(4 * emb_dim + dim, dim, batch_first=True)
        self.attention = LocationAttention(dim)
        self.lstm2 = nn.LSTM(2 * dim + SALIENCE_HEADS, dim, batch_first=True)
        self.out = nn.Sequential(nn.Linear(2 * dim + emb_dim + SALIENCE_HEADS, dim), nn.Tanh(), nn.Dropout(dropout),
                                 nn.Linear(dim, n_types))
        self.node = nn.Linear(2 * dim + emb_dim, dim)
        self.dim, self.n_types = dim, n_types

    def read(self, tokens: torch.Tensor, mask: torch.Tensor, numbers: torch.Tensor) -> Request:
        """Keys, values and salience (with the sentinel appended), the pooled request and its counts
        from token states (B×T×H). The pooled request is the mean of the tokens and a few learned
        attention poolings (what the request is about may sit in one word)."""
        batch = tokens.shape[0]
        m = mask.unsqueeze(-1).to(tokens.dtype)
        mean = (tokens * m).sum(1) / m.sum(1).clamp(min=1.0)
        scores = self.pool_scores(tokens).masked_fill(~mask.unsqueeze(-1), torch.finfo(tokens.dtype).min)
        attended = torch.einsum("bth,btd->bhd", scores.softmax(1), tokens).flatten(1)
        pooled = torch.tanh(self.pool(torch.cat([mean, attended], -1)))
        sentinel = self.sentinel.to(tokens.dtype).unsqueeze(1).expand(-1, batch, -1)
        keys = torch.cat([self.key(tokens), sentinel[0].unsqueeze(1)], 1) / self.dim ** 0.5
        values = torch.cat([self.value(tokens), sentinel[1].unsqueeze(1)], 1)
        salience = torch.sigmoid(self.salience(tokens)) * m
        salience = torch.cat([salience, salience.new_zeros(batch, 1, salience.shape[-1])], 1)
        full_mask = torch.cat([mask, mask.new_ones(batch, 1)], 1)
        return Request(keys, values, full_mask, salience, pooled, self.counter(tokens, numbers, mask))

    def totals(self, request: Request, prev: torch.Tensor) -> torch.Tensor:
        """B×S: how many times the request asks for the type emitted at each step, in all."""
        counts = request.counts
        features = torch.cat([counts, torch.ones_like(counts[:, :1])], -1).unsqueeze(1)
        pooled = request.pooled.unsqueeze(1).expand(-1, prev.shape[1], -1)
        weights = self.mix(prev) + self.mix_by_request(torch.cat([self.type_emb(prev), pooled], -1))
        return (weights * features).sum(-1)

    def all_totals(self, request: Request) -> torch.Tensor:
        """B×V: `totals` of every type at once (decoding looks them up instead of computing them per step)."""
        every_type = torch.arange(self.n_types, device=request.mask.device).expand(len(request.mask), -1)
        return self.totals(request, every_type)

    def _remaining(self, counts: torch.Tensor, total: torch.Tensor, occurrence: torch.Tensor) -> torch.Tensor:
        """B×S×E: what remains to emit of the previous type, and per count, after its `occurrence` (B×S)."""
        done = occurrence.unsqueeze(-1).to(counts.dtype)
        left = torch.cat([counts.unsqueeze(1) - done, total.unsqueeze(-1) - done], -1)
        return self.remaining(torch.cat([left.clamp(-4.0, 4.0), torch.sigmoid(4.0 * (left - 0.5))], -1))

    def _inputs(self, pooled: torch.Tensor, counts: torch.Tensor, prev: torch.Tensor, positions: torch.Tensor,
                occurrence: torch.Tensor, total: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(first-layer LSTM inputs B×S×D, what remains B×S×E) from each row's pooled request and counts."""
        remaining = self._remaining(counts, total, occurrence)
        steps = prev.shape[1]
        inputs = torch.cat([self.type_emb(prev), self.pos_emb(positions),
                            self.occ_emb(occurrence.clamp(max=MAX_OCCURRENCE)),
                            remaining, pooled.unsqueeze(1).expand(-1, steps, -1)], -1)
        return inputs, remaining

    def _initial(self, request: Request) -> tuple[torch.Tensor, ...]:
        """(h1, c1, h2, c2), each B×H, from the pooled request."""
        return torch.tanh(self.init_state(request.pooled)).chunk(4, dim=-1)

    def forward(self, request: Request, prev: torch.Tensor, emitted: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forced pass: `prev` = BOS + gold types, `emitted` = gold types + END (both B×S).
        Returns type logits (B×S×V), the embedding of each step's emitted type (B×S×H) and the
        expected total count of each step's previous type (B×S, trained against the gold counts)."""
        positions = torch.arange(prev.shape[1], device=prev.device).unsqueeze(0).expand_as(prev)
        seen = F.one_hot(prev, self.n_types).cumsum(1)  # B×S×V: each type's emissions up to each step
        occurrence = seen.gather(2, prev.unsqueeze(-1)).squeeze(-1)
        total = self.totals(request, prev)
        inputs, remaining = self._inputs(request.pooled, request.counts, prev, positions, occurrence, total)
        h1, c1, h2, c2 = (x.unsqueeze(0).contiguous() for x in self._initial(request))
        first, _ = self.lstm(inputs, (h1, c1))
        weights, uncovered = self.attention(first, request)
        context = torch.bmm(weights, request.values)
        out, _ = self.lstm2(torch.cat([first, context, uncovered], -1), (h2, c2))
        logits = self.out(torch.cat([out, context, remaining, uncovered], -1))
        return logits, self.node(torch.cat([out, context, self.type_emb(emitted)], -1)), total

    def _start(self, request: Request) -> DecoderState:
        h1, c1, h2, c2 = self._initial(request)
        previous = torch.zeros_like(request.mask, dtype=h1.dtype)
        seen = torch.zeros(len(request.mask), self.n_types, dtype=torch.long, device=h1.device)
        return DecoderState(h1, c1, h2, c2, previous, previous, seen, self.all_totals(request), request.pooled,
                            request.counts)

    def _step(self, request: Request, state: DecoderState, prev: torch.Tensor, step: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoding step after emitting `prev` (R×1, the requests' rows: R/B each), updating `state` in
        place: (type logits R×V, the step's node state R×2H — what the emitted type's sub-task embedding is
        built from)."""
        state.seen[torch.arange(len(prev), device=prev.device), prev[:, 0]] += 1
        occurrence = state.seen.gather(1, prev)
        inputs, remaining = self._inputs(state.pooled, state.counts, prev, torch.full_like(prev, step), occurrence,
                                         state.totals.gather(1, prev))
        state.h1, state.c1 = lstm_step(self.lstm, inputs[:, 0], (state.h1, state.c1))
        content, location = self.attention.prepare(state.h1.unsqueeze(1), request)
        state.previous, state.coverage, uncovered = self.attention.step(request, content[:, 0], location[:, 0],
                                                                        state.previous, state.coverage)
        context = torch.bmm(state.previous.view(len(request.mask), -1, state.previous.shape[-1]),
                            request.values).view(len(prev), -1)
        state.h2, state.c2 = lstm_step(self.lstm2, torch.cat([state.h1, context, uncovered], -1), (state.h2, state.c2))
        logits = self.out(torch.cat([state.h2, context, remaining[:, 0], uncovered], -1))
        return logits, torch.cat([state.h2, context], -1)

    def _banned(self, never: list[int], device: torch.device) -> torch.Tensor:
        banned = torch.zeros(self.n_types, device=device)
        banned[never] = float("-inf")
        return banned

    @staticmethod
    def _log_probs(logits: torch.Tensor, banned: torch.Tensor, eos: int, step: int) -> torch.Tensor:
        """The next type's log-probabilities as the beam scores them: `banned` types out, and no END at the first
        step (its probability dropped, not spread over the other types)."""
        log_probs = (logits.float() + banned).log_softmax(-1)
        if step == 0:
            log_probs[:, eos] = float("-inf")
        return log_probs

    def _nodes(self, types: torch.Tensor, states: torch.Tensor, lengths: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        steps = max(1, int(lengths.max()))
        types = types[:, :steps]
        return types, self.node(torch.cat([states[:, :steps], self.type_emb(types)], -1)), lengths

    @torch.inference_mode()
    def decode(self, request: Request, bos: int, eos: int, never: list[int], max_nodes: int, width: int
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """What `beam_search` (`width` > 1) or `generate` returns, at less cost. Under a beam, every request is
        decoded greedily first (one row, not `width`, per request and step), and its greedy plan is kept where
        it provably is the most probable plan of all, which the beam would return too; the beam searches the
        rest. The proof: a plan that leaves the greedy one at step t scores at most the greedy plan's
        log-probability up to t − 1 plus the best other choice at t, since a plan's score only falls as it
        grows. When that bound is below the greedy plan's whole score at every t (by `MARGIN`, for rounding),
        every partial plan that has left it scores below it, so the beam keeps the greedy prefix first at
        every step and returns it. Returns the outputs and, per request, how its plan was found (B longs:
        `GREEDY` or `SEARCHED`; a beam of 1 is greedy decoding, every plan `GREEDY`)."""
        batch, device = len(request.mask), request.mask.device
        if width == 1:
            return *self.generate(request, bos, eos, never, max_nodes), torch.full((batch,), GREEDY, device=device)
        how = torch.full((batch,), SEARCHED, dtype=torch.long, device=device)
        types, states, lengths, optimal = self._greedy(request, bos, eos, never, max_nodes, certify=True)
        how[optimal] = GREEDY
        rest = (~optimal).nonzero().squeeze(1)
        if len(rest):  # greedy rows are max_nodes wide, the beam's at most
            found_types, found_states, found_lengths = self._beam(request.rows(rest), bos, eos, never, max_nodes, width)
            steps = found_types.shape[1]
            types[rest], states[rest], lengths[rest] = 0, 0.0, found_lengths
            types[rest, :steps], states[rest, :steps] = found_types, found_states
        return *self._nodes(types, states, lengths), how

    @torch.inference_mode()
    def generate(self, request: Request, bos: int, eos: int, never: list[int], max_nodes: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Greedy decoding of at least one and at most `max_nodes` types (`never` are not emitted).
        Returns type ids (B×N, 0 after END), node embeddings (B×N×H) and lengths (B).

        Rows that have ended leave the batch, so a long plan costs only its own steps."""
        return self._nodes(*self._greedy(request, bos, eos, never, max_nodes))

    def _one_row(self, request: Request) -> bool:
        """Whether `request` is one float32 row decoded in inference on the CPU: what `row_decoding` does."""
        return self.row_decoding and request.mask.shape[0] == 1 and request.mask.device.type == "cpu" \
            and not self.training and request.keys.dtype == torch.float32

    def _greedy(self, request: Request, bos: int, eos: int, never: list[int], max_nodes: int, certify: bool = False
                ) -> tuple[torch.Tensor, ...]:
        """`generate` before the node embeddings: type ids, node states (B×N×2H) and lengths; with `certify`,
        also whether each plan provably is the most probable one (B bools; the bound of `decode`, kept step
        by step). A plan cut at `max_nodes` is not. One float32 row in inference on the CPU (planning one
        instruction) is decoded in NumPy (`row_decoding`), the same steps at a third of the cost."""
        batch, device = request.mask.shape[0], request.mask.device
        if self._one_row(request):
            found = greedy_row(self, request, bos, eos, never, max_nodes, MARGIN)
            return found if certify else found[:3]
        state = self._start(request)
        prev = torch.full((batch, 1), bos, dtype=torch.long, device=device)
        rows = torch.arange(batch, device=device)  # the original row of each row still decoding
        lengths = torch.full((batch,), max_nodes, dtype=torch.long, device=device)
        types = torch.zeros(batch, max_nodes, dtype=torch.long, device=device)
        states = torch.zeros(batch, max_nodes, 2 * self.dim, dtype=state.h1.dtype, device=device)
        optimal = torch.zeros(batch, dtype=torch.bool, device=device)
        score = torch.zeros(batch, device=device)  # of the rows still decoding: their plan's log-probability
        bound = torch.full((batch,), float("-inf"), device=device)  # and the best a plan leaving it could score
        banned = self._banned(never, device)
        for step in range(max_nodes + 1):
            logits, node = self._step(request, state, prev, step)
            if certify:
                top = self._log_probs(logits, banned, eos, step).topk(2, dim=-1)
                choice = top.indices[:, 0]
                bound = torch.maximum(bound, score + top.values[:, 1])
                score = score + top.values[:, 0]
            else:
                logits = logits + banned
                if step == 0:
                    logits[:, eos] = float("-inf")
                choice = logits.argmax(-1)
            going = choice != eos if step < max_nodes else torch.zeros_like(choice, dtype=torch.bool)
            if not bool(going.all()):  # some rows ended: their lengths, then they leave the batch
                ended = ~going
                lengths[rows[ended]] = step
                if certify:
                    optimal[rows[ended]] = ((bound < score - MARGIN) & (choice == eos))[ended]
                if not bool(going.any()):
                    break
                keep = going.nonzero().squeeze(1)
                request, state = request.rows(keep), state.rows(keep)
                rows, choice, node = rows[keep], choice[keep], node[keep]
                if certify:
                    score, bound = score[keep], bound[keep]
            types[rows, step] = choice
            states[rows, step] = node
            prev = choice.unsqueeze(1)
        return (types, states, lengths, optimal) if certify else (types, states, lengths)

    @torch.inference_mode()
    def beam_search(self, request: Request, bos: int, eos: int, never: list[int], max_nodes: int, width: int
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Like `generate`, but keeps the `width` most probable partial plans of each request and returns
        the most probable finished one (summed log-probabilities of its types and END).

        Greedy decoding commits to each step; a plan whose step looks slightly less likely than ending
        ("…, and then produce a short audio version") is lost. Scores only fall as a plan grows, so a
        request's search ends, exactly, once none of its partial plans can beat its best finished one; its
        rows then leave the batch, so a batch costs the steps of its plans, not `width` × its longest."""
        return self._nodes(*self._beam(request, bos, eos, never, max_nodes, width))

    def _beam(self, request: Request, bos: int, eos: int, never: list[int], max_nodes: int, width: int
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`beam_search` before the node embeddings: type ids, node states (B×N×2H) and lengths. One float32
        row in inference on the CPU is searched in NumPy (`row_decoding`)."""
        if self._one_row(request):
            return beam_row(self, request, bos, eos, never, max_nodes, width)
        batch, device = request.mask.shape[0], request.mask.device
        k, v = width, self.n_types
        copies = torch.arange(batch, device=device).repeat_interleave(k)
        state = self._start(request).rows(copies)  # started once per request, then copied (its rows share `request`)
        prev = torch.full((batch * k, 1), bos, dtype=torch.long, device=device)
        banned = self._banned(never, device)
        # The requests still searching (`active`), each with k rows: hypothesis j of request b is row b·k + j
        # among all batch × k (`rows`), and row i·k + j of the tensors decoding steps (i: its place in `active`).
        active, rows = torch.arange(batch, device=device), torch.arange(batch * k, device=device)
        firsts = torch.arange(batch, device=device).unsqueeze(1) * k  # the active requests' first local rows
        scores = torch.full((batch, k), float("-inf"), device=device)
        scores[:, 0] = 0.0  # one hypothesis to start from, not k copies of it
        best = torch.full((batch,), float("-inf"), device=device)  # of the active requests, and where it ended
        best_row, lengths = torch.zeros(batch, dtype=torch.long, device=device), torch.zeros_like(active)
        done_best_row, done_lengths = torch.zeros_like(active), torch.zeros_like(active)  # of every request
        steps = []  # per emitted step: the rows of its hypotheses, their types, the rows they extend, node states
        for step in range(max_nodes + 1):
            logits, node = self._step(request, state, prev, step)
            log_probs = self._log_probs(logits, banned, eos, step)
            n = len(active)
            total = (scores.view(-1, 1) + log_probs).view(n, k, v)
            ended, which = total[:, :, eos].max(1)
            better = ended > best
            best = torch.where(better, ended, best)
            best_row = torch.where(better, active * k + which, best_row)
            lengths = lengths.masked_fill(better, step)
            if step == max_nodes:
                break
            total[:, :, eos] = float("-inf")
            scores, index = total.view(n, k * v).topk(k, dim=1)
            going = scores[:, 0] > best  # a partial plan can still win
            if not bool(going.any()):
                break
            source = (firsts[:n] + torch.div(index, v, rounding_mode="floor")).view(-1)
            choice = (index % v).view(-1)
            steps.append((rows, choice, rows[source], node[source]))
            state, prev = state.rows(source), choice.unsqueeze(1)
            if not bool(going.all()):  # the requests whose search has ended leave the batch
                leaving = active[~going]
                done_best_row[leaving], done_lengths[leaving] = best_row[~going], lengths[~going]
                keep = going.nonzero().squeeze(1)
                kept = (firsts[keep] + torch.arange(k, device=device)).view(-1)
                state, request, prev, scores, rows = state.rows(kept), request.rows(keep), prev[kept], scores[keep], \
                    rows[kept]
                active, best, best_row, lengths = active[keep], best[keep], best_row[keep], lengths[keep]
        done_best_row[active], done_lengths[active] = best_row, lengths
        best_row, lengths = done_best_row, done_lengths
        # Follow each winner back from the row it ended on.
        types = torch.zeros(batch, max(1, int(lengths.max())), dtype=torch.long, device=device)
        states = torch.zeros(*types.shape, 2 * self.dim, dtype=state.h1.dtype, device=device)
        row = best_row
        place_of = torch.empty(batch * k, dtype=torch.long, device=device)
        for step in reversed(range(types.shape[1])):
            step_rows, choice, parent, node = steps[step]
            place_of[step_rows] = torch.arange(len(step_rows), device=device)  # each row's place in that step
            here = step < lengths  # the requests whose plan has this step (their rows were all searching)
            place = torch.where(here, place_of[row], 0)
            types[:, step] = torch.where(here, choice[place], 0)
            states[:, step] = node[place] * here.unsqueeze(-1).to(states.dtype)
            row = torch.where(here, parent[place], row)
        return types, states, lengths
