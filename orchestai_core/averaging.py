"""An exponential moving average of a model's trained weights (Polyak averaging).

Small data and noisy labels make the weights of the last steps wander; their running average plans as
well or better and overfits the noisy worker labels later. Validation and checkpoints use the average;
training continues on the raw weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


class WeightAverage:
    """The running average of `model`'s trainable parameters, `decay` per step (warmed up: early steps
    average over fewer steps, so the average does not start out dragged towards the initial weights)."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"the averaging decay must be between 0 and 1, got {decay}")
        self.decay = decay
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        """Fold the current weights in (call after each optimizer step)."""
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], 1.0 - decay)

    @contextlib.contextmanager
    @torch.no_grad()
    def applied(self) -> Iterator[None]:
        """Within the block the model holds the averaged weights; the raw ones come back after it."""
        raw = [p.detach().clone() for p in self.params]
        for p, s in zip(self.params, self.shadow):
            p.copy_(s)
        try:
            yield
        finally:
            for p, r in zip(self.params, raw):
                p.copy_(r)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": [s.cpu() for s in self.shadow]}

    @torch.no_grad()
    def load_state_dict(self, state: dict) -> None:
        if len(state["shadow"]) != len(self.shadow):
            raise ValueError("the weight average in the checkpoint does not fit the model")
        for s, saved in zip(self.shadow, state["shadow"]):
            s.copy_(saved)
        self.updates = state["updates"]
