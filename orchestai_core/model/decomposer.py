"""Task decomposer: an LSTM decoder that emits sub-task types one by one until END, attending over the
instruction's token states. Its states (with the emitted type) are the sub-task embeddings.

Repeated branches ("reconcile these seven files", "translate it into French, German and Dutch") need
counting, which attention cannot do: its weights sum to one. A count reader sums learned per-token
gates over the instruction, weighted by the number a token writes ("seven" → 7, see `numerals`), by the
size of the enumeration it is in, or by 1. Each type mixes those counts into how many times the
instruction asks for it (trained against the gold totals by an auxiliary loss), and every step sees
how many of the type it just emitted remain — the decision to repeat a branch or move on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MAX_OCCURRENCE = 64


class CountReader(nn.Module):
    """`heads` counts of each kind — numbers written in the instruction, sizes of its enumerations, and
    plain token counts — each a sum of learned per-token gates (B×3·heads)."""

    def __init__(self, enc_dim: int, hidden: int, heads: int):
        super().__init__()
        self.gates = nn.Sequential(nn.Linear(enc_dim, hidden), nn.GELU(), nn.Linear(hidden, 3 * heads))
        nn.init.constant_(self.gates[-1].bias, -3.0)  # counts start near zero
        self.heads = heads

    def forward(self, tokens: torch.Tensor, numbers: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`numbers` B×T×2: per token, the number it writes and the size of the enumeration it is in."""
        gates = torch.sigmoid(self.gates(tokens)) * mask.unsqueeze(-1).to(tokens.dtype)
        weights = torch.cat([numbers.to(tokens.dtype).repeat_interleave(self.heads, dim=-1),
                             torch.ones_like(gates[..., :self.heads])], -1)
        return (gates * weights).sum(1)


class TaskDecomposer(nn.Module):
    def __init__(self, n_types: int, enc_dim: int, hidden: int, emb_dim: int, max_nodes: int, dropout: float,
                 count_heads: int = 4):
        super().__init__()
        self.type_emb = nn.Embedding(n_types, emb_dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_nodes + 1, emb_dim)
        self.occ_emb = nn.Embedding(MAX_OCCURRENCE + 1, emb_dim)
        self.counter = CountReader(enc_dim, hidden, count_heads)
        self.mix = nn.Embedding(n_types, 3 * count_heads + 1)  # per type: its total count from the counts
        nn.init.zeros_(self.mix.weight)
        with torch.no_grad():
            self.mix.weight[:, -1] = 1.0  # every type starts out expected once
        self.remaining = nn.Sequential(nn.Linear(6 * count_heads + 2, emb_dim), nn.Tanh())
        self.pool_proj = nn.Linear(enc_dim, hidden)
        self.init_state = nn.Linear(hidden, 2 * hidden)
        self.lstm = nn.LSTM(4 * emb_dim + hidden, hidden, batch_first=True)
        self.query = nn.Linear(hidden, enc_dim)
        self.ctx_proj = nn.Linear(enc_dim, hidden)
        self.out = nn.Sequential(nn.Linear(2 * hidden + emb_dim, hidden), nn.Tanh(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_types))
        self.node = nn.Linear(2 * hidden + emb_dim, hidden)
        self.hidden, self.n_types = hidden, n_types

    def encode(self, tokens: torch.Tensor, mask: torch.Tensor, numbers: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Attention keys (the token states themselves: projecting the few attended contexts is cheaper
        than projecting every token), the projected mean-pooled instruction vector and the counts."""
        m = mask.unsqueeze(-1).to(tokens.dtype)
        pooled = self.pool_proj((tokens * m).sum(1) / m.sum(1).clamp(min=1.0))
        return tokens, pooled, self.counter(tokens, numbers, mask)

    def _initial(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = torch.tanh(self.init_state(pooled)).chunk(2, dim=-1)
        return h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()

    def _attend(self, out: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = torch.einsum("bse,bte->bst", self.query(out), keys) / keys.shape[-1] ** 0.5
        scores = scores.masked_fill(~mask.unsqueeze(1), torch.finfo(scores.dtype).min)
        return self.ctx_proj(torch.einsum("bst,bte->bse", scores.softmax(-1), keys))

    def _step_attention(self, keys: torch.Tensor, mask: torch.Tensor):
        """`_attend` for one decoding step at a time, with the token side projected once: the query and
        context projections are affine and the weights sum to one, so both move onto the tokens
        (B×T×H instead of B×T×E per step)."""
        scale = keys.shape[-1] ** 0.5
        key_q = (keys @ self.query.weight) / scale  # B×T×H
        key_bias = (keys @ self.query.bias) / scale  # B×T
        key_bias = key_bias.masked_fill(~mask, torch.finfo(key_bias.dtype).min)  # in its own dtype under autocast
        values = self.ctx_proj(keys)  # B×T×H

        def attend(out: torch.Tensor) -> torch.Tensor:  # B×1×H → B×1×H
            scores = torch.baddbmm(key_bias.unsqueeze(1), out, key_q.transpose(1, 2))
            return torch.bmm(scores.softmax(-1), values)
        return attend

    def totals(self, counts: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """B×S: how many times the instruction asks for the type emitted at each step, in all."""
        features = torch.cat([counts, torch.ones_like(counts[:, :1])], -1)
        return (self.mix(prev) * features.unsqueeze(1)).sum(-1)

    def _remaining(self, counts: torch.Tensor, total: torch.Tensor, occurrence: torch.Tensor) -> torch.Tensor:
        """B×S×E: what remains to emit of the previous type, and per count, after its `occurrence` (B×S)."""
        done = occurrence.unsqueeze(-1).to(counts.dtype)
        left = torch.cat([counts.unsqueeze(1) - done, total.unsqueeze(-1) - done], -1)
        return self.remaining(torch.cat([left.clamp(-4.0, 4.0), torch.sigmoid(4.0 * (left - 0.5))], -1))

    def _inputs(self, prev: torch.Tensor, positions: torch.Tensor, occurrence: torch.Tensor, remaining: torch.Tensor,
                pooled: torch.Tensor) -> torch.Tensor:
        steps = prev.shape[1]
        return torch.cat([self.type_emb(prev), self.pos_emb(positions), self.occ_emb(occurrence.clamp(max=MAX_OCCURRENCE)),
                          remaining, pooled.unsqueeze(1).expand(-1, steps, -1)], -1)

    def forward(self, keys: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor,
                prev: torch.Tensor, emitted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass: `prev` = BOS + gold types, `emitted` = gold types + END (both B×S).
        Returns type logits (B×S×V), the embedding of each step's emitted type (B×S×H) and the
        expected total count of each step's previous type (B×S, trained against the gold counts)."""
        positions = torch.arange(prev.shape[1], device=prev.device).unsqueeze(0).expand_as(prev)
        seen = F.one_hot(prev, self.n_types).cumsum(1)  # B×S×V: each type's emissions up to each step
        occurrence = seen.gather(2, prev.unsqueeze(-1)).squeeze(-1)
        total = self.totals(counts, prev)
        remaining = self._remaining(counts, total, occurrence)
        out, _ = self.lstm(self._inputs(prev, positions, occurrence, remaining, pooled), self._initial(pooled))
        ctx = self._attend(out, keys, mask)
        logits = self.out(torch.cat([out, ctx, remaining], -1))
        return logits, self.node(torch.cat([out, ctx, self.type_emb(emitted)], -1)), total

    @torch.no_grad()
    def generate(self, keys: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor, counts: torch.Tensor, bos: int,
                 eos: int, never: list[int], max_nodes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Greedy decoding of at least one and at most `max_nodes` types (`never` are not emitted).
        Returns type ids (B×N, 0 after END), node embeddings (B×N×H) and lengths (B)."""
        batch, device = keys.shape[0], keys.device
        h, c = (part[0] for part in self._initial(pooled))
        lstm = self.lstm
        attend = self._step_attention(keys, mask)
        prev = torch.full((batch, 1), bos, dtype=torch.long, device=device)
        seen = torch.zeros(batch, self.n_types, dtype=torch.long, device=device)
        rows = torch.arange(batch, device=device)
        done = torch.zeros(batch, dtype=torch.bool, device=device)
        lengths = torch.full((batch,), max_nodes, dtype=torch.long, device=device)
        banned = torch.zeros(self.n_types, device=device)
        banned[never] = float("-inf")
        types, outs, ctxs = [], [], []
        for step in range(max_nodes + 1):
            seen[rows, prev[:, 0]] += 1
            occurrence = seen.gather(1, prev).clamp(max=MAX_OCCURRENCE)
            remaining = self._remaining(counts, self.totals(counts, prev), occurrence)
            # One step of the same LSTM: the cell function costs a third of a length-1 nn.LSTM call.
            x = self._inputs(prev, torch.full_like(prev, step), occurrence, remaining, pooled)[:, 0]
            h, c = torch.lstm_cell(x, (h, c), lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
            out = h.unsqueeze(1)
            ctx = attend(out)
            logits = self.out(torch.cat([out, ctx, remaining], -1))[:, 0] + banned
            if step == 0:
                logits[:, eos] = float("-inf")
            choice = logits.argmax(-1)
            if step == max_nodes:
                choice.fill_(eos)
            ended = (choice == eos) & ~done
            lengths[ended] = step
            done |= ended
            if done.all():
                break
            choice = choice.masked_fill(done, 0)
            types.append(choice)
            outs.append(out[:, 0])
            ctxs.append(ctx[:, 0])
            prev = choice.unsqueeze(1)
        types_t = torch.stack(types, 1)
        nodes = self.node(torch.cat([torch.stack(outs, 1), torch.stack(ctxs, 1), self.type_emb(types_t)], -1))
        return types_t, nodes, lengths
