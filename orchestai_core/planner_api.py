"""The Python API of a trained planner.

    from orchestai_core import Planner
    planner = Planner.load("checkpoints/phase1_best_model.pth")  # int8=True: faster on CPU
    planner.plan("Summarize the report and translate it into French")
    planner.plan_batch([...])

Plans follow the spec's plan output: subtasks with id, type, worker, depends_on and worker_probs,
plus est_cost_usd, est_latency_ms along the critical path and critical_path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

from orchestai_core.checkpoints import Checkpoint, CheckpointError, load_checkpoint
from orchestai_core.dag import critical_path
from orchestai_core.device import pick_device
from orchestai_core.model.decode import DecodedPlan, decode
from orchestai_core.model.beam import check_beam
from orchestai_core.model.planner import PlannerConfig, PlannerModel
from orchestai_core.model.selector import relative_costs
from orchestai_core.model.vocab import Vocab
from orchestai_core.plan_stats import PlanStats


class Planner:
    """A loaded planner: encoder + trained model + cost statistics, ready to plan instructions."""

    def __init__(self, checkpoint: Checkpoint, device: str = "auto", int8: bool = False, beam: int | None = None):
        self.device = pick_device(device)
        self.config = PlannerConfig.from_dict(checkpoint.model_config)
        self.beam = self.config.beam if beam is None else check_beam(beam)
        self.types, self.workers = Vocab(checkpoint.types), Vocab(checkpoint.workers)
        self.model = PlannerModel.from_config(self.config, self.types, self.workers)
        self.model.load_trainable_state_dict(checkpoint.model)
        self.model.to(self.device).eval()
        self.encoder = self.model.encoder
        self.stats = PlanStats.from_dict(checkpoint.stats)
        self.relative_cost = self._relative_cost()
        self.train_plans = checkpoint.train_plans
        self.val_ids = checkpoint.val_ids  # the logs held out for validation
        self.validation = checkpoint.best_validation()  # plan metrics on them at the best epoch, greedy
        if int8:
            self.quantize()

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto", int8: bool = False,
             beam: int | None = None) -> "Planner":
        """A planner from a checkpoint; CheckpointError (one line) when it cannot be used, ValueError
        when `int8` cannot be (not on CPU, or a fine-tuned encoder) or `beam` is not a width. `beam`
        plans are kept while decoding (default: the checkpoint's `model.beam`; 1 = greedy)."""
        beam = None if beam is None else check_beam(beam)
        checkpoint = load_checkpoint(path)
        try:
            planner = cls(checkpoint, device, beam=beam)
        except (ValueError, KeyError, FileNotFoundError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: cannot build the planner ({str(exc).splitlines()[0]})") from None
        if int8:
            planner.quantize()  # outside the try: its errors are about the option, not the checkpoint
        return planner

    @property
    def int8(self) -> bool:
        return self.encoder.int8

    def quantize(self) -> None:
        """Run the frozen encoder in int8 (CPU only): faster planning, but plans may differ slightly from
        fp32 and, since activations are scaled per padded batch, from the same instruction in another batch."""
        self.encoder.quantize_frozen()

    def _relative_cost(self) -> torch.Tensor:
        """types × workers: each worker's expected cost for the type, 0 (cheapest) .. 1 (dearest), log scale."""
        table = torch.tensor([[self.stats.estimate(t, w)[0] for w in self.workers.items] for t in self.types.items])
        return relative_costs(table)

    @staticmethod
    def _check(text: str, position: int | None = None) -> str:
        where = "" if position is None else f" (item {position + 1})"
        if not isinstance(text, str):
            raise ValueError(f"the instruction{where} must be text, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"the instruction{where} is empty: type what the workflow should do")
        return text.strip()

    @torch.inference_mode()  # outputs are read, never trained on
    def decode_batch(self, texts: list[str], cost_weight: float = 0.0, beam: int | None = None) -> list[DecodedPlan]:
        """Raw decoded plans for a batch; instructions longer than `max_length` tokens are truncated.
        `beam` overrides the planner's width for this call."""
        return self._decode(self._checked(texts), cost_weight, self._beam(beam))

    def _decode(self, texts: list[str], cost_weight: float, beam: int) -> list[DecodedPlan]:
        out = self.model.plan_texts(texts, beam)
        return decode({k: v.cpu() for k, v in out.items()}, self.types, self.workers, self.relative_cost, cost_weight)

    def _checked(self, texts: list[str]) -> list[str]:
        return [self._check(t, i if len(texts) > 1 else None) for i, t in enumerate(texts)]

    @torch.inference_mode()
    def embed(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """Mean-pooled, normalised encoder embeddings (for the nearest-neighbour baseline)."""
        parts = []
        for start in range(0, len(texts), batch_size):
            batch = self.encoder.tokenize(texts[start:start + batch_size], self.device)
            states = self.encoder(**batch).float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            parts.append(torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1).cpu())
        return torch.cat(parts) if parts else torch.zeros(0, self.encoder.hidden_size)

    def _beam(self, beam: int | None) -> int:
        return self.beam if beam is None else check_beam(beam)

    def plan_batch(self, texts: list[str], ids: list[str] | None = None, cost_weight: float = 0.0,
                   batch_size: int = 64, beam: int | None = None) -> list[dict]:
        """Plans for many instructions, in batches (instructions of similar length together). `beam`
        overrides the planner's decoding width for this call (1 = greedy)."""
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"got {len(ids)} ids for {len(texts)} instructions")
        beam = self._beam(beam)
        texts = self._checked(texts)
        truncated = [n > self.config.max_length for n in self.encoder.token_counts(texts)]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        plans: list[dict | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            part = order[start:start + batch_size]
            began = time.perf_counter()
            decoded = self._decode([texts[i] for i in part], cost_weight, beam)
            ms = (time.perf_counter() - began) * 1000 / len(part)
            for i, d in zip(part, decoded):
                plans[i] = self._to_plan(ids[i] if ids else f"plan-{i + 1}", texts[i], d, ms, beam, truncated[i])
        return plans

    def plan(self, text: str, cost_weight: float = 0.0, plan_id: str = "plan-1", beam: int | None = None) -> dict:
        """One plan in the spec's plan-output shape; `cost_weight` > 0 prefers cheaper workers, `beam`
        overrides the decoding width for this call."""
        return self.plan_batch([text], [plan_id], cost_weight, beam=beam)[0]

    def _to_plan(self, plan_id: str, text: str, decoded: DecodedPlan, ms: float, beam: int, truncated: bool) -> dict:
        g = decoded.graph
        subtasks = []
        for i, (t, w, parents) in enumerate(zip(g.types, g.workers, g.parents)):
            cost, latency = self.stats.estimate(t, w)
            subtasks.append({"id": f"s{i + 1}", "type": t, "worker": w, "depends_on": [f"s{p + 1}" for p in parents],
                             "worker_probs": decoded.worker_probs[i], "est_cost_usd": round(cost, 6),
                             "est_latency_ms": round(latency, 1), "latency_ms": latency})
        path, total_latency = critical_path(subtasks)
        for s in subtasks:
            del s["latency_ms"]
        return {"id": plan_id, "instruction": text, "subtasks": subtasks,
                "est_cost_usd": round(sum(s["est_cost_usd"] for s in subtasks), 6),
                "est_latency_ms": round(total_latency, 1), "critical_path": path,
                "meta": {"raw_adjacency_acyclic": decoded.raw_acyclic, "planning_ms": round(ms, 2),
                         "beam": beam, "truncated": truncated}}
