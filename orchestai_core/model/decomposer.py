"""Task decomposer: an LSTM decoder that emits sub-task types one by one until END, attending over the
instruction's token states. Its states (with the emitted type) are the sub-task embeddings."""

from __future__ import annotations

import torch
from torch import nn

from orchestai_core.model.vocab import BOS, EOS, PAD


class TaskDecomposer(nn.Module):
    def __init__(self, n_types: int, enc_dim: int, hidden: int, emb_dim: int, max_nodes: int, dropout: float):
        super().__init__()
        self.type_emb = nn.Embedding(n_types, emb_dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_nodes + 2, emb_dim)
        self.enc_proj = nn.Linear(enc_dim, hidden)
        self.init_state = nn.Linear(hidden, 2 * hidden)
        self.lstm = nn.LSTM(2 * emb_dim + hidden, hidden, batch_first=True)
        self.query = nn.Linear(hidden, hidden)
        self.out = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.Tanh(), nn.Dropout(dropout), nn.Linear(hidden, n_types))
        self.node = nn.Linear(2 * hidden + emb_dim, hidden)
        self.hidden = hidden

    def encode(self, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected token states and the mean-pooled instruction vector."""
        keys = self.enc_proj(tokens)
        m = mask.unsqueeze(-1).to(keys.dtype)
        pooled = (keys * m).sum(1) / m.sum(1).clamp(min=1.0)
        return keys, pooled

    def _initial(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = torch.tanh(self.init_state(pooled)).chunk(2, dim=-1)
        return h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()

    def _attend(self, out: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = torch.einsum("bsh,bth->bst", self.query(out), keys) / self.hidden ** 0.5
        scores = scores.masked_fill(~mask.bool().unsqueeze(1), float("-inf"))
        return torch.einsum("bst,bth->bsh", scores.softmax(-1), keys)

    def _inputs(self, prev: torch.Tensor, positions: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        steps = prev.shape[1]
        return torch.cat([self.type_emb(prev), self.pos_emb(positions), pooled.unsqueeze(1).expand(-1, steps, -1)], -1)

    def forward(self, keys: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor, prev: torch.Tensor,
                emitted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced pass: `prev` = BOS + gold types, `emitted` = gold types + EOS (both B×S).
        Returns type logits (B×S×V) and node embeddings (B×S×H) of each step's emitted type."""
        positions = torch.arange(prev.shape[1], device=prev.device).unsqueeze(0).expand_as(prev)
        out, _ = self.lstm(self._inputs(prev, positions, pooled), self._initial(pooled))
        ctx = self._attend(out, keys, mask)
        logits = self.out(torch.cat([out, ctx], -1))
        nodes = self.node(torch.cat([out, ctx, self.type_emb(emitted)], -1))
        return logits, nodes

    @torch.no_grad()
    def generate(self, keys: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor, bos: int, eos: int,
                 max_nodes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Greedy decoding: emitted type ids (B×S, PAD after END), node embeddings and lengths."""
        batch = keys.shape[0]
        state = self._initial(pooled)
        prev = torch.full((batch, 1), bos, dtype=torch.long, device=keys.device)
        done = torch.zeros(batch, dtype=torch.bool, device=keys.device)
        lengths = torch.full((batch,), max_nodes, dtype=torch.long, device=keys.device)
        types, nodes = [], []
        for step in range(max_nodes + 1):
            positions = torch.full_like(prev, step)
            out, state = self.lstm(self._inputs(prev, positions, pooled), state)
            ctx = self._attend(out, keys, mask)
            logits = self.out(torch.cat([out, ctx], -1))[:, 0]
            logits[:, :2] = float("-inf")  # never PAD or BOS
            if step == 0:
                logits[:, eos] = float("-inf")  # at least one sub-task
            if step == max_nodes:
                logits[:, 3:] = float("-inf")  # then END
            choice = logits.argmax(-1)
            ended = (choice == eos) & ~done
            lengths[ended] = step
            done |= choice == eos
            choice = choice.masked_fill(done, 0)
            if done.all():
                break
            types.append(choice)
            nodes.append(self.node(torch.cat([out[:, 0], ctx[:, 0], self.type_emb(choice)], -1)))
            prev = choice.unsqueeze(1)
        if not types:
            return (torch.zeros(batch, 0, dtype=torch.long, device=keys.device),
                    keys.new_zeros(batch, 0, self.hidden), lengths.clamp(max=0))
        return torch.stack(types, 1), torch.stack(nodes, 1), lengths.clamp(max=len(types))


SPECIALS = (PAD, BOS, EOS)
