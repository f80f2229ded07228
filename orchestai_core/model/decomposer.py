"""Task decomposer: an LSTM decoder that emits sub-task types one by one until END, attending over the
instruction's token states. Its states (with the emitted type) are the sub-task embeddings."""

from __future__ import annotations

import torch
from torch import nn


class TaskDecomposer(nn.Module):
    def __init__(self, n_types: int, enc_dim: int, hidden: int, emb_dim: int, max_nodes: int, dropout: float):
        super().__init__()
        self.type_emb = nn.Embedding(n_types, emb_dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_nodes + 1, emb_dim)
        self.pool_proj = nn.Linear(enc_dim, hidden)
        self.init_state = nn.Linear(hidden, 2 * hidden)
        self.lstm = nn.LSTM(2 * emb_dim + hidden, hidden, batch_first=True)
        self.query = nn.Linear(hidden, enc_dim)
        self.ctx_proj = nn.Linear(enc_dim, hidden)
        self.out = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.Tanh(), nn.Dropout(dropout), nn.Linear(hidden, n_types))
        self.node = nn.Linear(2 * hidden + emb_dim, hidden)
        self.hidden = hidden

    def encode(self, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention keys (the token states themselves: projecting the few attended contexts is cheaper
        than projecting every token) and the projected mean-pooled instruction vector."""
        m = mask.unsqueeze(-1).to(tokens.dtype)
        return tokens, self.pool_proj((tokens * m).sum(1) / m.sum(1).clamp(min=1.0))

    def _initial(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = torch.tanh(self.init_state(pooled)).chunk(2, dim=-1)
        return h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()

    def _attend(self, out: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = torch.einsum("bse,bte->bst", self.query(out), keys) / keys.shape[-1] ** 0.5
        scores = scores.masked_fill(~mask.unsqueeze(1), torch.finfo(scores.dtype).min)
        return self.ctx_proj(torch.einsum("bst,bte->bse", scores.softmax(-1), keys))

    def _inputs(self, prev: torch.Tensor, positions: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        steps = prev.shape[1]
        return torch.cat([self.type_emb(prev), self.pos_emb(positions), pooled.unsqueeze(1).expand(-1, steps, -1)], -1)

    def forward(self, keys: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor, prev: torch.Tensor,
                emitted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass: `prev` = BOS + gold types, `emitted` = gold types + END (both B×S).
        Returns type logits (B×S×V) and the embedding of each step's emitted type (B×S×H)."""
        positions = torch.arange(prev.shape[1], device=prev.device).unsqueeze(0).expand_as(prev)
        out, _ = self.lstm(self._inputs(prev, positions, pooled), self._initial(pooled))
        ctx = self._attend(out, keys, mask)
        logits = self.out(torch.cat([out, ctx], -1))
        return logits, self.node(torch.cat([out, ctx, self.type_emb(emitted)], -1))

    @torch.no_grad()
    def generate(self, keys: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor, bos: int, eos: int,
                 never: list[int], max_nodes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Greedy decoding of at least one and at most `max_nodes` types (`never` are not emitted).
        Returns type ids (B×N, 0 after END), node embeddings (B×N×H) and lengths (B)."""
        batch, device = keys.shape[0], keys.device
        state = self._initial(pooled)
        prev = torch.full((batch, 1), bos, dtype=torch.long, device=device)
        done = torch.zeros(batch, dtype=torch.bool, device=device)
        lengths = torch.full((batch,), max_nodes, dtype=torch.long, device=device)
        types, nodes = [], []
        for step in range(max_nodes + 1):
            out, state = self.lstm(self._inputs(prev, torch.full_like(prev, step), pooled), state)
            ctx = self._attend(out, keys, mask)
            logits = self.out(torch.cat([out, ctx], -1))[:, 0]
            logits[:, never] = float("-inf")
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
            nodes.append(self.node(torch.cat([out[:, 0], ctx[:, 0], self.type_emb(choice)], -1)))
            prev = choice.unsqueeze(1)
        return torch.stack(types, 1), torch.stack(nodes, 1), lengths
