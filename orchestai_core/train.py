"""Phase-1 supervised training of the planner.

    orchestai train --data logs.jsonl --epochs 50 --out checkpoints/
    orchestai train --db data/orchestai.db --status accepted
    orchestai train --resume --out checkpoints/

Writes `OUT/phase1_best_model.pth` (lowest validation loss) and `OUT/last.pth` (every epoch),
atomically, and records the run, every logged step and every epoch's validation metrics in the store.
SIGTERM or SIGINT finishes the current step, saves `last.pth` and ends the run as `stopped`.
"""

from __future__ import annotations

import math
import os
import random
import signal
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from orchestai_core.catalogue import Catalogue, load_catalogue
from orchestai_core.evaluate import Graph, aggregate, score
from orchestai_core.model.batching import Encoded, collate, encode_labels
from orchestai_core.model.decode import decode
from orchestai_core.model.encoder import InstructionEncoder
from orchestai_core.model.loss import planner_loss
from orchestai_core.model.planner import PlannerConfig, PlannerModel
from orchestai_core.model.vocab import Vocab
from orchestai_core.model.decomposer import SPECIALS
from orchestai_core.plan_stats import PlanStats
from orchestai_core.store import Store, now_iso
from orchestai_core.training_data import Example

CHECKPOINT_VERSION = 1


@dataclass
class TrainConfig:
    """`training.phase1_supervised` of config.yaml."""

    batch_size: int = 32
    learning_rate: float = 1e-4       # the design's rate, used for fine-tuned encoder layers
    head_learning_rate: float = 2e-3  # the randomly initialised decomposer, graph and selector
    num_epochs: int = 50
    lambda_dag: float = 0.3
    train_data_size: int = 1000
    val_fraction: float = 0.2
    split: str = "random"             # random | template
    seed: int = 42
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    log_every: int = 5                # steps between metric rows written to the store
    val_metrics_max: int = 200        # validation logs decoded each epoch for plan metrics

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        config = cls(**data)
        if config.split not in ("random", "template"):
            raise ValueError(f"split must be 'random' or 'template', got {config.split!r}")
        if not 0 < config.val_fraction < 1:
            raise ValueError(f"val_fraction must be between 0 and 1, got {config.val_fraction}")
        return config


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)


def split_examples(examples: list[Example], config: TrainConfig) -> tuple[list[Example], list[Example]]:
    """80/20 by default; `template` holds out whole templates to measure unseen ones."""
    rng = random.Random(config.seed)
    if config.split == "template":
        templates = sorted({e.template or e.id for e in examples})
        rng.shuffle(templates)
        held = set(templates[:max(1, round(len(templates) * config.val_fraction))])
        return ([e for e in examples if (e.template or e.id) not in held],
                [e for e in examples if (e.template or e.id) in held])
    order = list(range(len(examples)))
    rng.shuffle(order)
    cut = max(1, round(len(examples) * config.val_fraction))
    return [examples[i] for i in order[cut:]], [examples[i] for i in order[:cut]]


def atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Phase1Trainer:
    """The Phase-1 recipe: setup → train → save_checkpoint → cleanup, driven by the config."""

    def __init__(self, train: TrainConfig, model: PlannerConfig, out_dir: str | os.PathLike, device: str = "auto",
                 store: Store | None = None, run_id: int | None = None, catalogue: Catalogue | None = None,
                 progress: bool = True):
        self.cfg, self.model_cfg = train, model
        self.out_dir = Path(out_dir)
        self.device = pick_device(device)
        self.store, self.run_id = store, run_id
        self.catalogue = catalogue or load_catalogue()
        self.progress = progress
        self.stop_requested = False
        self.epoch = 0
        self.step = 0
        self.best_val = math.inf
        self.best_epoch = None
        self.history: list[dict] = []

    # ------------------------------------------------------------------ setup
    def setup(self, examples: list[Example], resume: bool = False) -> None:
        torch.manual_seed(self.cfg.seed)
        random.seed(self.cfg.seed)
        if len(examples) < 2:
            raise ValueError(f"need at least 2 training logs, got {len(examples)}")
        self.train_examples, self.val_examples = split_examples(examples, self.cfg)
        state = torch.load(self.out_dir / "last.pth", map_location="cpu", weights_only=False) if resume else None
        if state is not None:
            self.types, self.workers = Vocab(state["types"]), Vocab(state["workers"])
            self.model_cfg = PlannerConfig.from_dict(state["model_config"])
        else:
            self.types = Vocab.build((t for e in self.train_examples for t in e.types), (*SPECIALS, "<unk>"))
            self.workers = Vocab.build([*self.catalogue.names(),
                                        *(w for e in self.train_examples for w in e.workers if w)])
        self.encoder = InstructionEncoder(self.model_cfg.encoder, self.model_cfg.finetune_layers,
                                          self.model_cfg.max_length).to(self.device)
        self.model = PlannerModel(self.model_cfg, self.types, self.workers, self.encoder.hidden_size).to(self.device)
        self.stats = PlanStats.from_examples(self.train_examples, self.catalogue)
        self.train_items = self._encode(self.train_examples)
        self.val_items = self._encode(self.val_examples)
        groups = [{"params": list(self.model.parameters()), "lr": self.cfg.head_learning_rate}]
        tuned = [p for p in self.encoder.parameters() if p.requires_grad]
        if tuned:
            groups.append({"params": tuned, "lr": self.cfg.learning_rate})
        self.optimizer = torch.optim.AdamW(groups, weight_decay=self.cfg.weight_decay)
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.encoder.load_state_dict(state["encoder"], strict=False)
            self.optimizer.load_state_dict(state["optimizer"])
            self.epoch, self.step = state["epoch"], state["step"]
            self.best_val, self.best_epoch = state["best_val_loss"], state["best_epoch"]
            self.history = state["history"]
            torch.set_rng_state(state["rng"])

    @torch.no_grad()
    def _encode(self, examples: list[Example], chunk: int = 64) -> list[Encoded]:
        """A frozen encoder runs once per dataset and each instruction keeps its token states; a
        fine-tuned one keeps the token ids and runs in every step."""
        items = []
        self.encoder.eval()
        for start in range(0, len(examples), chunk):
            part = examples[start:start + chunk]
            batch = self.encoder.tokenize([e.instruction for e in part], self.device)
            states = self.encoder(**batch).float().cpu() if self.encoder.frozen else batch["input_ids"].cpu()
            lengths = batch["attention_mask"].sum(1).tolist()
            for e, s, n in zip(part, states, lengths):
                items.append(Encoded(s[:n].clone(), *encode_labels(e, self.types, self.workers,
                                                                     self.model_cfg.max_nodes)))
        return items

    def _token_states(self, batch: dict) -> torch.Tensor:
        if "tokens" in batch:
            return batch["tokens"]
        return self.encoder(batch["input_ids"], batch["token_mask"].long()).float()

    # ------------------------------------------------------------------ training
    def _batch_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        batch = {k: v.to(self.device) for k, v in batch.items()}
        type_logits, worker_logits, edge_logits = self.model(self._token_states(batch), batch["token_mask"], batch["prev"],
                                                             batch["emitted"], batch["node_valid"])
        return planner_loss(type_logits, batch["type_targets"], worker_logits, batch["worker_targets"], edge_logits,
                            batch["edge_targets"], batch["node_valid"], self.cfg.lambda_dag)

    def _batches(self, items: list[Encoded], shuffle: bool, generator: random.Random | None = None):
        order = list(range(len(items)))
        if shuffle:
            (generator or random).shuffle(order)
        for start in range(0, len(order), self.cfg.batch_size):
            yield collate([items[i] for i in order[start:start + self.cfg.batch_size]], self.types)

    def _handle_signal(self, signum, frame) -> None:
        self.stop_requested = True

    def train(self) -> dict:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        previous = {s: signal.signal(s, self._handle_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        steps_per_epoch = math.ceil(len(self.train_items) / self.cfg.batch_size)
        self._update_run(status="running", started_at=now_iso(), pid=os.getpid(), device=str(self.device),
                         total_epochs=self.cfg.num_epochs, total_steps=steps_per_epoch * self.cfg.num_epochs,
                         data_size=len(self.train_items) + len(self.val_items))
        start = time.perf_counter()
        pending: list[dict] = []
        status = "completed"
        try:
            from tqdm import tqdm

            while self.epoch < self.cfg.num_epochs and not self.stop_requested:
                self.model.train()
                rng = random.Random(self.cfg.seed * 1000 + self.epoch)
                bar = tqdm(self._batches(self.train_items, True, rng), total=steps_per_epoch, disable=not self.progress,
                           desc=f"epoch {self.epoch + 1}/{self.cfg.num_epochs}", leave=False)
                if not self.encoder.frozen:
                    self.encoder.train()
                for batch in bar:
                    losses = self._batch_loss(batch)
                    self.optimizer.zero_grad(set_to_none=True)
                    losses["loss"].backward()
                    torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]],
                                                   self.cfg.grad_clip)
                    self.optimizer.step()
                    self.step += 1
                    wall = time.perf_counter() - start
                    bar.set_postfix(loss=f"{losses['loss'].item():.3f}")
                    if self.step % self.cfg.log_every == 0:
                        pending += [{"step": self.step, "epoch": self.epoch, "split": "train", "name": k,
                                     "value": v.item(), "wall_time": wall} for k, v in losses.items()]
                        self._flush(pending)
                    if self.stop_requested:
                        break
                if self.stop_requested:
                    status = "stopped"
                    self.save_checkpoint(self.out_dir / "last.pth")
                    break
                self._end_epoch(time.perf_counter() - start)
            self._flush(pending)
        except BaseException as exc:
            self._update_run(status="failed", ended_at=now_iso(), error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        summary = {"status": status, "epochs": self.epoch, "steps": self.step, "best_val_loss": self.best_val,
                   "best_epoch": self.best_epoch, "seconds": round(time.perf_counter() - start, 1),
                   "train_logs": len(self.train_items), "val_logs": len(self.val_items), "device": str(self.device),
                   "best_checkpoint": str(self.out_dir / "phase1_best_model.pth"),
                   "last_metrics": self.history[-1] if self.history else None}
        self._update_run(status=status, ended_at=now_iso(), summary=summary)
        return summary

    def _end_epoch(self, wall: float) -> None:
        val = self.validate()
        self.epoch += 1
        self.history.append({"epoch": self.epoch, **val})
        self._flush([{"step": self.step, "epoch": self.epoch, "split": "val", "name": k, "value": v,
                      "wall_time": wall} for k, v in val.items() if v is not None])
        if val["loss"] < self.best_val:
            self.best_val, self.best_epoch = val["loss"], self.epoch
            self.save_checkpoint(self.out_dir / "phase1_best_model.pth")
        self.save_checkpoint(self.out_dir / "last.pth")
        self._update_run(epoch=self.epoch, step=self.step, best_val_loss=self.best_val, best_epoch=self.best_epoch,
                         checkpoint=str(self.out_dir / "phase1_best_model.pth"), heartbeat_at=now_iso())

    @torch.no_grad()
    def validate(self) -> dict:
        """Validation loss components (teacher forced) and plan metrics on decoded validation logs."""
        self.model.eval()
        self.encoder.eval()
        totals: dict[str, float] = {}
        count = 0
        for batch in self._batches(self.val_items, False):
            n = batch["token_mask"].shape[0]
            for k, v in self._batch_loss(batch).items():
                totals[k] = totals.get(k, 0.0) + v.item() * n
            count += n
        result = {k: v / count for k, v in totals.items()}
        items = self.val_items[:self.cfg.val_metrics_max]
        scores, raw_ok = [], 0
        for batch_start in range(0, len(items), 64):
            part = items[batch_start:batch_start + 64]
            batch = {k: v.to(self.device) for k, v in collate(part, self.types).items()}
            out = self.model.generate(self._token_states(batch), batch["token_mask"])
            for item, plan in zip(part, decode({k: v.cpu() for k, v in out.items()}, self.types, self.workers)):
                gold = Graph([self.types.items[t] for t in item.types],
                             [self.workers.items[w] if w >= 0 else None for w in item.workers], item.parents)
                scores.append(score(plan.graph, gold))
                raw_ok += plan.raw_acyclic
        metrics = aggregate(scores)
        result.update({k: metrics[k] for k in ("dag_validity", "node_f1", "edge_f1", "exact_match", "worker_accuracy")})
        result["raw_acyclic"] = raw_ok / len(items) if items else None
        return result

    # ------------------------------------------------------------------ checkpoints and the store
    def save_checkpoint(self, path: Path) -> None:
        atomic_save({
            "version": CHECKPOINT_VERSION, "model_config": asdict(self.model_cfg), "train_config": asdict(self.cfg),
            "types": self.types.items, "workers": self.workers.items, "model": self.model.state_dict(),
            "encoder": self.encoder.trainable_state(), "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch, "step": self.step, "best_val_loss": self.best_val, "best_epoch": self.best_epoch,
            "history": self.history, "catalogue": self.catalogue.to_dict(), "stats": self.stats.to_dict(),
            "rng": torch.get_rng_state(),
            "train_plans": [{"instruction": e.instruction, "types": e.types, "workers": e.workers, "parents": e.parents}
                            for e in self.train_examples],
        }, path)

    def _flush(self, rows: list[dict]) -> None:
        if self.store is not None and self.run_id is not None and rows:
            self.store.add_metrics(self.run_id, rows)
        rows.clear()

    def _update_run(self, **fields) -> None:
        if self.store is not None and self.run_id is not None:
            self.store.update_run(self.run_id, **fields)

    def cleanup(self) -> None:
        if self.store is not None:
            self.store.close()
