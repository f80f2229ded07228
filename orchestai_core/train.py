"""Phase-1 supervised training of the planner.

Single device (CPU, one GPU or Apple MPS; picked automatically):

    orchestai train --data logs.jsonl --epochs 50 --out checkpoints/
    orchestai train --db data/orchestai.db --status accepted
    orchestai train --resume --out checkpoints/

Several processes with DistributedDataParallel (nccl on GPUs, gloo on CPUs; same options):

    torchrun --nproc_per_node 4 -m orchestai_core train --data logs.jsonl
    torchrun --nnodes 2 --node_rank 0 --master_addr HOST --nproc_per_node 8 -m orchestai_core train --data logs.jsonl

Writes `OUT/phase1_best_model.pth` (lowest validation loss) and `OUT/last.pth` (every epoch),
atomically, and records the run, every few steps' losses and every epoch's validation metrics in the
store. SIGTERM or SIGINT finishes the current step, saves `last.pth` and ends the run as `stopped`.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
import torch.distributed as dist

from orchestai_core.averaging import WeightAverage
from orchestai_core.catalogue import Catalogue, load_catalogue
from orchestai_core.checkpoints import BEST, LAST, Checkpoint, load_checkpoint, save_checkpoint
from orchestai_core.consensus_fit import fit, fit_order, name_vectors, readings_from_items
from orchestai_core.dag import Graph
from orchestai_core.device import native_bf16, pick_device
from orchestai_core.evaluate import PLAN_METRICS, aggregate, score
from orchestai_core.examples import Cut, Example, Skipped, skipped_message
from orchestai_core.model.batching import Encoded, bucketed_batches, collate, encode_labels, encode_outcomes
from orchestai_core.model.consensus import ConsensusSettings, fitted_figures
from orchestai_core.model.decode import decode, on_cpu
from orchestai_core.model.loss import imitation_weights, planner_loss, pooled_terms, term_sizes
from orchestai_core.model.numerals import READER_VERSION
from orchestai_core.model.ordering import fitted_order
from orchestai_core.model.outcome import (
    MIN_COST_USD,
    MIN_LATENCY_MS,
    outcome_loss,
    outcome_sizes,
    propensity_weights,
    success_prior,
    worker_log_means,
)
from orchestai_core.model.planner import PlannerConfig, PlannerModel
from orchestai_core.model.vocab import TYPE_SPECIALS, Vocab
from orchestai_core.plan_stats import PlanStats
from orchestai_core.planner_api import Planner
from orchestai_core.store import Store, now_iso
from orchestai_core.token_cache import TokenCache, encoder_fingerprint

ENCODE_PRECISIONS = ("auto", "float32", "bfloat16")
IMITATION_WEIGHTS = ("choice_prob", "equal")
VAL_BATCH = 64  # validation batches, of items of like length (`_val_batches`): 240 validation logs 0.62 -> 0.34 s
# for the loss and 0.69 -> 0.46 s for the greedy plans, against one padded batch


@dataclass
class TrainConfig:
    """`training.phase1_supervised` of config.yaml."""

    batch_size: int = 32
    learning_rate: float = 1e-4       # the design's rate; used for fine-tuned encoder layers
    head_learning_rate: float = 2e-3  # the randomly initialised decomposer, graph and selector
    num_epochs: int = 50
    lambda_dag: float = 0.3
    train_data_size: int = 0          # a cap on the logs used, a seeded random sample of them (0 = every log)
    val_fraction: float = 0.2
    split: str = "random"             # random | template
    seed: int = 42
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    log_every: int = 5                # steps between loss rows written to the store
    val_metrics_max: int = 200        # validation logs decoded each epoch for plan metrics
    warmup_steps: int = 50            # linear warm-up of the learning rates, then cosine decay
    min_lr_ratio: float = 0.05        # the decay ends at this fraction of each rate
    lambda_count: float = 0.1         # weight of the auxiliary count loss (training only)
    type_smoothing: float = 0.0       # label smoothing of the type cross-entropy (training only)
    worker_smoothing: float = 0.05    # of the worker cross-entropy: logged choices are a little noisy
    imitation_weights: str = "choice_prob"  # each logged worker's part in the selector's loss: its choice_prob
                                      # (1 where not recorded: `imitation_weights`) | equal (every one alike)
    dag_scaled: bool = False          # NOTEARS on A∘A / n instead of A∘A
    weight_average: float = 0.98      # decay of the running average of the weights that validation and
                                      # checkpoints use (0 = off)
    patience: int = 0                 # epochs without a better validation loss before stopping (0 = all epochs)
    lambda_outcome: float = 1.0       # weight of the outcome model's losses in training (not in the validation loss)
    outcome_clip: float = 20.0        # largest importance weight 1/choice_prob of a logged step
    outcome_prior_strength: float = 1.0  # pseudo-runs pulling a (type, worker) success prior to the worker's rate
    encode_precision: str = "auto"    # the frozen encoder's one pass over the data: auto (bfloat16 on a CPU that
                                      # computes it natively, else float32) | float32 | bfloat16

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        config = cls(**data)
        if config.split not in ("random", "template"):
            raise ValueError(f"split must be 'random' or 'template', got {config.split!r}")
        if not 0 < config.val_fraction < 1:
            raise ValueError(f"val_fraction must be between 0 and 1, got {config.val_fraction}")
        if config.batch_size < 1 or config.num_epochs < 1:
            raise ValueError("batch_size and num_epochs must be at least 1")
        if config.warmup_steps < 0 or not 0 <= config.min_lr_ratio <= 1:
            raise ValueError("warmup_steps must be 0 or more and min_lr_ratio between 0 and 1")
        if not (0 <= config.type_smoothing < 1 and 0 <= config.worker_smoothing < 1):
            raise ValueError("type_smoothing and worker_smoothing must be at least 0 and below 1")
        if not 0 <= config.weight_average < 1:
            raise ValueError(f"weight_average must be 0 (off) or a decay below 1, got {config.weight_average}")
        if config.patience < 0:
            raise ValueError(f"patience must be 0 (off) or a number of epochs, got {config.patience}")
        if config.lambda_outcome < 0:
            raise ValueError(f"lambda_outcome must be 0 or more, got {config.lambda_outcome}")
        if not config.outcome_prior_strength > 0:
            raise ValueError(f"outcome_prior_strength must be more than 0, got {config.outcome_prior_strength}")
        if config.outcome_clip < 1:
            raise ValueError("outcome_clip must be at least 1 (weights 1/choice_prob are ≥ 1), "
                             f"got {config.outcome_clip}")
        if config.encode_precision not in ENCODE_PRECISIONS:
            raise ValueError(f"encode_precision must be one of {', '.join(ENCODE_PRECISIONS)}, "
                             f"got {config.encode_precision!r}")
        if config.imitation_weights not in IMITATION_WEIGHTS:
            raise ValueError(f"imitation_weights must be one of {', '.join(IMITATION_WEIGHTS)}, "
                             f"got {config.imitation_weights!r}")
        if config.train_data_size < 0:
            raise ValueError(f"train_data_size must be 0 (every log) or a number of logs, got {config.train_data_size}")
        return config


def training_settings(config: dict, **changes) -> tuple[TrainConfig, PlannerConfig]:
    """The typed, validated training and model settings of a loaded config.yaml (`training.phase1_supervised`,
    `encoder` and `model`), with `changes` to the training section; ValueError or TypeError says what is wrong."""
    section = {**config.get("training", {}).get("phase1_supervised", {}), **changes}
    model_section = {**config.get("encoder", {}), **config.get("model", {})}
    return TrainConfig.from_dict(section), PlannerConfig.from_dict(model_section)


SHOWN_LEFT_OUT = 10  # ids named in the cap's message


@dataclass(frozen=True)
class Capped:
    """What a `train_data_size` cap left out of training, and how it chose."""

    cap: int
    total: int
    seed: int
    left_out: list[str]

    @property
    def message(self) -> str:
        shown = ", ".join(self.left_out[:SHOWN_LEFT_OUT]) + (", …" if len(self.left_out) > SHOWN_LEFT_OUT else "")
        return (f"train_data_size {self.cap}: trained on a random sample (seed {self.seed}) of {self.cap} of "
                f"{self.total} logs; {len(self.left_out)} left out: {shown}")


def cap_examples(examples: list[Example], cap: int, seed: int) -> tuple[list[Example], Capped | None]:
    """Every example without a cap (0) or under it; else a seeded random sample of `cap` of them, in their
    original order, and what was left out. Import order plays no part, so recent or curated logs are as
    likely to be kept as the first ones."""
    if not cap or len(examples) <= cap:
        return examples, None
    kept = set(random.Random(seed).sample(range(len(examples)), cap))
    left_out = [e.id for i, e in enumerate(examples) if i not in kept]
    return [e for i, e in enumerate(examples) if i in kept], Capped(cap, len(examples), seed, left_out)


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


def distributed_context() -> tuple[int, int, int]:
    """(rank, local rank, world size) from torchrun's environment; (0, 0, 1) without it."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class Phase1Trainer:
    """The Phase-1 recipe: setup → train → save_checkpoint → cleanup, driven by the config."""

    def __init__(self, train: TrainConfig, model: PlannerConfig, out_dir: str | os.PathLike, device: str = "auto",
                 store: Store | None = None, run_id: int | None = None, catalogue: Catalogue | None = None,
                 progress: bool = True, token_cache: TokenCache | None = None):
        """`token_cache`: where the frozen encoder's token states are kept between runs (None: encode every
        instruction; `token_cache.py`)."""
        self.cfg, self.model_cfg = train, model
        self.token_cache = token_cache
        # of the instructions setup found in the cache, encoded, and encoded but not kept (the cache full)
        self.cache_counts = {"found": 0, "encoded": 0, "not_kept": 0}
        self._cache_written = 0  # bytes this run added to the cache
        self._fingerprint: str | None = None  # of the frozen encoder, keying the cache (`encoder_fingerprint`)
        self.out_dir = Path(out_dir)
        self.rank, self.local_rank, self.world = distributed_context()
        self.is_main = self.rank == 0
        self.device = pick_device(device)
        if self.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", self.local_rank)
        self.store, self.run_id = (store, run_id) if self.is_main else (None, None)
        self.catalogue = catalogue or load_catalogue()
        self.progress = progress and self.is_main
        self.stop_requested = False
        self.capped: Capped | None = None
        self.epoch = self.step = 0
        self.steps_per_epoch = 0  # known once training starts (the learning-rate schedule needs it)
        self.best_val, self.best_epoch = math.inf, None
        self.history: list[dict] = []
        self.scaler = None
        self.elapsed_before = 0.0  # seconds trained before a resume, so wall times continue
        self._started = time.perf_counter()

    # ------------------------------------------------------------------ setup
    def setup(self, examples: list[Example], resume: bool = False, skipped: list[Skipped] | None = None) -> None:
        """Split the data, build vocabularies and model (or restore them from last.pth), cache encoder states.
        `skipped`: invalid lines the data file had, named among the run's warnings."""
        self.skipped = list(skipped or [])
        self._update_run(status="running", started_at=now_iso(), pid=os.getpid(), device=str(self.device),
                         out_dir=str(self.out_dir))
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        torch.manual_seed(self.cfg.seed)
        random.seed(self.cfg.seed)
        torch.set_flush_denormal(True)  # tiny Adam moments otherwise slow CPU arithmetic down many times
        examples, self.capped = cap_examples(examples, self.cfg.train_data_size, self.cfg.seed)
        if self.capped is not None:
            self._say(f"warning: {self.capped.message}")
        if len(examples) < 2:
            raise ValueError(f"need at least 2 training logs, got {len(examples)}")
        self.train_examples, self.val_examples = split_examples(examples, self.cfg)
        if not self.train_examples or not self.val_examples:
            raise ValueError("the split left no training or no validation logs: add logs or change val_fraction")
        state = self._load_last() if resume else None
        if state is not None:
            self.types, self.workers = Vocab(state.types), Vocab(state.workers)
            self.model_cfg = PlannerConfig.from_dict(state.model_config)
        else:
            self.types = Vocab.build((t for e in self.train_examples for t in e.types), TYPE_SPECIALS)
            logged = (w for e in self.train_examples for w in e.workers if w)
            self.workers = Vocab.build([*self.catalogue.names(), *logged])
        self.model = PlannerModel.from_config(self.model_cfg, self.types, self.workers).to(self.device)
        self.optimizer = self.model.configure_optimizer(self.cfg.learning_rate, self.cfg.head_learning_rate,
                                                        self.cfg.weight_decay)
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        # the longest quiet stretch before the first epoch (20 s on 3,000 requests here): the log says what it is
        self._say(f"encoding the {len(self.train_examples) + len(self.val_examples)} instructions once: the frozen "
                  f"encoder's token states are kept for every epoch"
                  + (f" and between runs ({self.token_cache.folder})" if self.token_cache else ""))
        self.train_items = self._encode(self.train_examples)
        self.val_items = self._encode(self.val_examples)
        if self.token_cache is not None:
            full = self.cache_counts["not_kept"]
            self._say(f"token states: {self.cache_counts['found']} found in the cache, "
                      f"{self.cache_counts['encoded']} encoded"
                      + (f", {full} of them not kept (this run filled the cache's "
                         f"{self.token_cache.max_bytes / 2**30:.2g} GB: token_cache.max_gb)" if full else ""))
            if self.is_main:
                self.token_cache.trim()
        if state is None:
            self._outcome_priors()  # before the running average copies the weights
        self.outcome_steps = sum(1 for item in self.train_items
                                 for w, y in zip(item.workers, item.success) if w >= 0 and not math.isnan(y))
        left_out = self._leave_out_untaught_heads()
        # what `_clip_gradients` clips, listed once: the trained weights (not the frozen encoder's), planner and
        # outcome model apart
        trained = [(name, p) for name, p in self.model.named_parameters() if p.requires_grad]
        self.clip_groups = [[p for name, p in trained if name.startswith("outcome.") == outcome]
                            for outcome in (False, True)]
        self.average = WeightAverage(self.model, self.cfg.weight_average) if self.cfg.weight_average else None
        if state is not None:
            self._restore(state)
        self.net = self.model
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.stats = PlanStats.from_examples(self.train_examples, self.catalogue)
        precision = ", token states encoded in bfloat16" if self.encode_dtype() == torch.bfloat16 else ""
        self._say(f"{len(self.train_items)} training and {len(self.val_items)} validation logs on {self.device}"
                  f"{precision}, {self.outcome_steps} training steps with an outcome"
                  + (f", resuming after epoch {self.epoch}" if state is not None else ""))
        if left_out:
            self._say(f"not trained, nothing in the logs to learn from: {' and '.join(left_out)}")
        self.cuts = self._cuts(self.train_examples + self.val_examples)

    def _leave_out_untaught_heads(self) -> list[str]:
        """Training logs that record no worker (TaskBench rows, say) teach the worker selector nothing, and logs
        without outcomes teach the outcome model nothing: such a head is left out of the run's forward and
        backward passes, its weights frozen as they were built (or restored), instead of costing every step for
        a zero loss. The same on every rank (every rank holds all the training logs). Returns what it left out."""
        self.learns_workers = any(w >= 0 for item in self.train_items for w in item.workers)
        self.learns_outcomes = self.outcome_steps > 0
        for learns, head in ((self.learns_workers, self.model.selector), (self.learns_outcomes, self.model.outcome)):
            for parameter in head.parameters():
                parameter.requires_grad_(learns)
        return [name for learns, name in ((self.learns_workers, "the worker selector (no logged workers)"),
                                          (self.learns_outcomes, "the outcome model (no logged outcomes)"))
                if not learns]

    def _outcome_priors(self) -> None:
        """Start the outcome model from the training logs (their encoded labels): the success prior per type
        and worker (`success_prior`), and each worker's average log-cost and log-latency where the logs
        record them (RouteLLM's, for one, record no latency)."""
        rows = [row for item in self.train_items
                for row in zip(item.types, item.workers, item.success, item.costs, item.latencies, item.choice_probs)]
        if not rows:
            return
        types, workers, success, cost, latency, probs = (torch.tensor(column) for column in zip(*rows))
        workers, outcome = workers.long(), self.model.outcome
        prior = success_prior(types, workers, success.double(), probs.double(), len(self.types), len(self.workers),
                              self.cfg.outcome_prior_strength, self.cfg.outcome_clip)
        if prior is not None:
            outcome.set_prior(*(p.to(self.device) for p in prior))
        means = [worker_log_means(values.double(), workers, len(self.workers), floor)
                 for values, floor in ((cost, MIN_COST_USD), (latency, MIN_LATENCY_MS))]
        outcome.start_from(*(None if m is None else m.to(self.device) for m in means))

    def _cuts(self, examples: list[Example]) -> list[Cut]:
        """What the model cannot take whole of `examples`, said in the run's log and kept on its row."""
        found = self.model.cuts(examples)
        for cut in found:
            self._say(f"warning: {cut.message}")
        skipped = [skipped_message(self.skipped)] if self.skipped else []
        capped = [self.capped.message] if self.capped is not None else []
        self._update_run(warnings=skipped + capped + [cut.message for cut in found] or None)
        return found

    def _load_last(self) -> Checkpoint:
        path = self.out_dir / LAST
        if not path.is_file():
            raise FileNotFoundError(f"{path}: nothing to resume from")
        return load_checkpoint(path)

    def _restore(self, state: Checkpoint) -> None:
        self.model.load_trainable_state_dict(state.training_model or state.model)
        if self.average is not None and state.average:
            self.average.load_state_dict(state.average)
        self.optimizer.load_state_dict(state.optimizer)
        if self.scaler is not None and state.scaler:
            self.scaler.load_state_dict(state.scaler)
        self.epoch, self.step = state.epoch, state.step
        self.best_val, self.best_epoch = state.best_val_loss, state.best_epoch
        self.history = state.history
        self.elapsed_before = state.elapsed
        torch.set_rng_state(state.rng)

    def encode_dtype(self) -> torch.dtype:
        """The precision of the frozen encoder's pass over the data (`encode_precision`). On a CPU that computes
        bfloat16 natively (`native_bf16`), `auto` takes it: the pass costs about 0.6 of float32's (the 3,027
        UltraTool requests: 39 -> 22 s on this project's 2-core CPU), and its token states differ from float32's
        by under 1 % (relative norm, per request), well inside the dropout training applies to them. Plans are
        made from float32 states."""
        if self.cfg.encode_precision == "auto":
            return torch.bfloat16 if native_bf16(self.device) else torch.float32
        return getattr(torch, self.cfg.encode_precision)

    @torch.no_grad()
    def _encode(self, examples: list[Example], chunk: int = 64) -> list[Encoded]:
        """Run the frozen part of the encoder once per dataset and keep each instruction's token states (float32,
        computed in `encode_dtype`). With a token cache, the states it holds are read instead of computed, and
        those computed are added to it (by the main process)."""
        encoder = self.model.encoder.eval()
        dtype = self.encode_dtype()
        cache = self.token_cache
        if cache is not None and self._fingerprint is None:  # once per run: it reads every weight
            self._fingerprint = encoder_fingerprint(encoder, dtype, self.device.type)
        fingerprint = self._fingerprint
        order = sorted(range(len(examples)), key=lambda i: len(examples[i].instruction))  # little padding
        cached: dict[int, Encoded] = {}
        for start in range(0, len(order), chunk):
            part = [examples[i] for i in order[start:start + chunk]]
            batch, tokens, words = encoder.tokenize_words([e.instruction for e in part], self.device)
            lengths = batch["attention_mask"].sum(1).tolist()
            keys = [cache.key(fingerprint, e.instruction) for e in part] if cache is not None else []
            found = [cache.load(k, n, encoder.hidden_size) for k, n in zip(keys, lengths)] if keys \
                else [None] * len(part)
            missing = [j for j, states in enumerate(found) if states is None]
            if missing:  # only these go through the encoder, padded to the longest of them
                rows = torch.tensor(missing, device=self.device)
                width = max(lengths[j] for j in missing)
                with torch.autocast(self.device.type, dtype=dtype, enabled=dtype != torch.float32):
                    states = encoder.frozen_states(**{k: v[rows, :width] for k, v in batch.items()}).float().cpu()
                for j, s in zip(missing, states):
                    found[j] = s[:lengths[j]].clone()
                    if cache is not None and self.is_main:  # up to the cache's size: more would be trimmed again
                        if self._cache_written < cache.max_bytes:
                            self._cache_written += cache.save(keys[j], found[j])
                        else:
                            self.cache_counts["not_kept"] += 1
            self.cache_counts["found"] += len(part) - len(missing)
            self.cache_counts["encoded"] += len(missing)
            numbers = self.model.numbers(tokens, words)
            for i, e, s, v, n in zip(order[start:start + chunk], part, found, numbers, lengths):
                cap = self.model_cfg.max_nodes
                cached[i] = Encoded(s, v[:n].clone(), *encode_labels(e, self.types, self.workers, cap),
                                    *encode_outcomes(e, cap))
        return [cached[i] for i in range(len(examples))]

    # ------------------------------------------------------------------ training
    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=self.amp_dtype)
        return contextlib.nullcontext()

    def _batch_loss(self, batch: dict, net=None, training: bool = False, sized: bool = False):
        """The loss of a batch and its components. `training` adds label smoothing, the count loss and
        lambda_outcome × the outcome losses; the validation loss is the plain L (types, workers, edges,
        λ·DAG), so the outcome terms, reported beside it, do not pick the best checkpoint. Both weigh each logged
        worker by its choice_prob (`imitation_weights`): an exploration counts as little as it was likely.
        `sized`: also what each component is a mean over (`term_sizes`, `outcome_sizes`), to pool batches."""
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        cfg = self.cfg
        with self._autocast():
            type_logits, worker_logits, edge_logits, totals, outcomes = (net or self.model)(
                batch["tokens"], batch["token_mask"], batch["numbers"], batch["prev"], batch["emitted"],
                batch["node_valid"], workers=self.learns_workers, outcomes=self.learns_outcomes)
            weights = batch["worker_targets"] != -100 if cfg.imitation_weights == "equal" else \
                imitation_weights(batch["worker_targets"], batch["choice_probs_targets"])  # each logged worker's
            losses = planner_loss(type_logits, batch["type_targets"], worker_logits, batch["worker_targets"],
                                  edge_logits, batch["edge_targets"], batch["node_valid"], cfg.lambda_dag,
                                  cfg.type_smoothing if training else 0.0, cfg.worker_smoothing if training else 0.0,
                                  cfg.dag_scaled, totals, batch["count_targets"], cfg.lambda_count if training else 0.0,
                                  weights)
            propensities = propensity_weights(batch["choice_probs_targets"], cfg.outcome_clip)
            outcome_targets = [batch[k] for k in ("worker_targets", "success_targets", "costs_targets",
                                                  "latencies_targets")]
            terms = outcome_loss(outcomes, *outcome_targets, propensities)
        losses.update(terms)
        if training:
            losses["loss"] = losses["loss"] + cfg.lambda_outcome * sum(terms.values())
        if not sized:
            return losses
        sizes = term_sizes(batch["type_targets"], weights, batch["node_valid"], batch["count_targets"])
        return losses, sizes | outcome_sizes(*outcome_targets, propensities)

    def lr_factor(self, step: int) -> float:
        """Linear warm-up over `warmup_steps`, then cosine decay to `min_lr_ratio` at the last step."""
        total = max(1, self.steps_per_epoch * self.cfg.num_epochs)
        if step < self.cfg.warmup_steps:
            return (step + 1) / self.cfg.warmup_steps
        progress = min(1.0, (step - self.cfg.warmup_steps) / max(1, total - self.cfg.warmup_steps))
        floor = self.cfg.min_lr_ratio
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def _epoch_batches(self) -> list[list[int]]:
        """This rank's batches for the current epoch: the same shuffle on every rank, dealt round-robin."""
        rng = random.Random(self.cfg.seed * 100_003 + self.epoch)
        lengths = [(len(item.types), item.tokens.shape[0]) for item in self.train_items]  # steps, then tokens
        batches = bucketed_batches(lengths, self.cfg.batch_size, rng)
        usable = len(batches) - len(batches) % self.world if len(batches) >= self.world else len(batches)
        return batches[:usable][self.rank::self.world] if self.world > 1 else batches

    def _optimise(self, losses: dict[str, torch.Tensor]) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        factor = self.lr_factor(self.step)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * factor
        if self.scaler is not None:
            self.scaler.scale(losses["loss"]).backward()
            self.scaler.unscale_(self.optimizer)
            self._clip_gradients()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            losses["loss"].backward()
            self._clip_gradients()
            self.optimizer.step()
        if self.average is not None:
            self.average.update()

    def _clip_gradients(self) -> None:
        """Clip the outcome model's gradients apart from the planner's: under one global norm, its large early
        gradients would shrink the planner's steps, and learning outcomes must cost the plan nothing."""
        for group in self.clip_groups:
            torch.nn.utils.clip_grad_norm_(group, self.cfg.grad_clip)

    def averaged(self):
        """A block in which the model holds the weights that validation and checkpoints use."""
        return self.average.applied() if self.average is not None else contextlib.nullcontext()

    def _handle_signal(self, signum, frame) -> None:
        self.stop_requested = True

    def _out_of_patience(self) -> bool:
        """Whether `patience` epochs have passed since the best validation loss; if so on any rank, on all
        of them (ranks validate alike, but a GPU's last bit may differ)."""
        return self._on_any_rank(bool(self.cfg.patience) and self.epoch - self.best_epoch >= self.cfg.patience)

    def _should_stop(self) -> bool:
        """A stop on any rank stops all of them at the same step."""
        return self._on_any_rank(self.stop_requested)

    def _on_any_rank(self, flag: bool) -> bool:
        if self.world == 1:
            return flag
        value = torch.tensor([float(flag)], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def train(self, fit_consensus: bool = True) -> dict:
        """Run epochs until `num_epochs`, `patience` epochs without progress, or a stop signal; returns the
        run summary. A completed run then fits consensus decoding to its best checkpoint (unless not
        `fit_consensus`: a benchmark timing epochs)."""
        from tqdm import tqdm

        self.out_dir.mkdir(parents=True, exist_ok=True)
        previous = {s: signal.signal(s, self._handle_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        self.steps_per_epoch = steps_per_epoch = len(self._epoch_batches())
        # A resume after a stop mid-epoch redoes that epoch from its start: the steps it had taken count too.
        total_steps = self.step + steps_per_epoch * (self.cfg.num_epochs - self.epoch)
        self._update_run(total_epochs=self.cfg.num_epochs, total_steps=total_steps,
                         data_size=len(self.train_items) + len(self.val_items), heartbeat_at=now_iso())
        self._started = start = time.perf_counter()
        status = "completed"
        try:
            while self.epoch < self.cfg.num_epochs:
                self.net.train()
                bar = tqdm(self._epoch_batches(), disable=not self.progress, leave=False,
                           desc=f"epoch {self.epoch + 1}/{self.cfg.num_epochs}")
                stopped = False
                for indices in bar:
                    losses = self._batch_loss(collate([self.train_items[i] for i in indices], self.types), self.net,
                                              training=True)
                    self._optimise(losses)
                    self.step += 1
                    if self.step % self.cfg.log_every == 0:
                        self._log_step(losses, self.elapsed(), bar)
                    if self._should_stop():
                        stopped = True
                        break
                if stopped:
                    status = "stopped"
                    self.save_checkpoint(self.out_dir / LAST)
                    break
                self._end_epoch(self.elapsed())
                if self._should_stop():
                    status = "stopped"
                    break
                if self._out_of_patience():
                    self._say(f"no better validation loss for {self.cfg.patience} epochs: stopping early")
                    break
        except BaseException as exc:
            self._update_run(status="failed", ended_at=now_iso(), error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        stopped_early = status == "completed" and self.epoch < self.cfg.num_epochs  # out of patience
        summary = {"status": status, "epochs": self.epoch, "stopped_early": stopped_early, "steps": self.step,
                   "best_val_loss": self.best_val, "best_epoch": self.best_epoch,
                   "seconds": round(time.perf_counter() - start, 1),
                   "train_logs": len(self.train_items), "val_logs": len(self.val_items), "device": str(self.device),
                   "processes": self.world, "best_checkpoint": str(self.out_dir / BEST),
                   "cut": {"instructions": 0, "workflows": 0} | {c.what: len(c.ids) for c in self.cuts},
                   "capped": None if self.capped is None else {"train_data_size": self.capped.cap,
                                                               "logs": self.capped.total,
                                                               "left_out": self.capped.left_out},
                   "skipped": len(self.skipped),
                   "token_cache": dict(self.cache_counts) if self.token_cache is not None else None,
                   "last_metrics": self.history[-1] if self.history else None}
        if fit_consensus and status == "completed" and self.is_main and (self.out_dir / BEST).is_file():
            summary["consensus"] = self._fit_consensus()
        self._update_run(status=status, ended_at=now_iso(), summary=summary)
        best = (f"best validation loss {self.best_val:.4f} at epoch {self.best_epoch}" if self.best_epoch
                else "no epoch finished")
        self._say(f"{status} after {self.epoch} epochs ({self.step} steps); {best}")
        return summary

    def _fit_consensus(self) -> dict:
        """Fit consensus decoding to the best checkpoint and write it in (atomically); what the summary shows."""
        self._say("fitting consensus decoding to the best checkpoint on the validation logs")
        path = self.out_dir / BEST
        checkpoint = load_checkpoint(path)
        planner = Planner(checkpoint, str(self.device), consensus=False)
        train, validation = (readings_from_items(planner, items) for items in (self.train_items, self.val_items))
        names = name_vectors(planner, [t for e in self.train_examples + self.val_examples for t in e.types])
        entry, held_out = fit(planner, train, self.val_examples, validation, self.val_items, with_held_out=True,
                              names=names)  # the types' names, read once for the classifier and the step order
        fitted = Planner(replace(checkpoint, consensus=held_out), str(self.device))
        order = fit_order(planner, fitted, self.train_items, self.val_examples, self.val_items, names)
        if order is not None:
            entry["order"] = order
        save_checkpoint(replace(checkpoint, consensus=entry), path)
        table = _rounded(entry["validation"])
        settings = ConsensusSettings.from_dict(entry)
        verdict = ("off (the model alone plans validation best)" if not settings.on
                   else f"model weight {settings.model_weight}, presence weight {settings.presence_weight}"
                        + (", neighbours by the learnt similarity" if settings.learned else ""))
        self._say(f"consensus decoding: {verdict}; {fitted_figures(table, settings)}")
        summary = {**settings.to_dict(), "validation": table}
        if order is not None:
            order_table = _rounded(order["validation"])
            self._say(f"step order: {fitted_order(order['weight'], order_table)}")
            summary["order"] = {"weight": order["weight"], "validation": order_table}
        return summary

    def _say(self, line: str) -> None:
        """A line for the run's log (stderr), from the main process only."""
        if self.is_main:
            print(line, file=sys.stderr, flush=True)

    def elapsed(self) -> float:
        """Seconds of training in this run, including those before a resume."""
        return self.elapsed_before + time.perf_counter() - self._started

    def _log_step(self, losses: dict[str, torch.Tensor], wall: float, bar) -> None:
        values = {k: v.item() for k, v in losses.items()}
        bar.set_postfix(loss=f"{values['loss']:.3f}")
        rows = [{"step": self.step, "epoch": self.epoch, "split": "train", "name": k, "value": v, "wall_time": wall}
                for k, v in values.items()]
        if self.device.type == "cuda":
            rows.append({"step": self.step, "epoch": self.epoch, "split": "system", "name": "gpu_memory_mb",
                         "value": torch.cuda.max_memory_allocated(self.device) / 2**20, "wall_time": wall})
        self._write_metrics(rows)

    def _report_epoch(self, val: dict, wall: float) -> None:
        """One readable line per epoch on stderr: the run's log file, which the workbench tails."""
        plan = " · ".join(f"{k} {val[k]:.3f}" for k in PLAN_METRICS if val.get(k) is not None)
        self._say(f"epoch {self.epoch}/{self.cfg.num_epochs} · step {self.step} · val loss {val['loss']:.4f} · "
                  f"{plan} · {wall:.1f} s")

    def _end_epoch(self, wall: float) -> None:
        with self.averaged():
            val = self.validate()
        self.epoch += 1
        self.history.append({"epoch": self.epoch, **val})
        self._report_epoch(val, wall)
        self._write_metrics([{"step": self.step, "epoch": self.epoch, "split": "val", "name": k, "value": v,
                              "wall_time": wall} for k, v in val.items() if v is not None])
        if val["loss"] < self.best_val:
            self.best_val, self.best_epoch = val["loss"], self.epoch
            self.save_checkpoint(self.out_dir / BEST, with_optimizer=False)
        self.save_checkpoint(self.out_dir / LAST)
        self._update_run(epoch=self.epoch, step=self.step, best_val_loss=self.best_val, best_epoch=self.best_epoch,
                         checkpoint=str(self.out_dir / BEST), heartbeat_at=now_iso())
        if self.world > 1:
            dist.barrier()

    @torch.no_grad()
    def validate(self) -> dict:
        """Validation loss components (teacher forced) and plan metrics on greedily decoded validation logs
        (half the cost of the beam that `plan` and `eval` use, and a little below what it scores)."""
        self.model.eval()
        sums: dict[str, float] = {}
        sizes: dict[str, float] = {}
        for part in self._val_batches(self.val_items, lambda item: (len(item.types), item.tokens.shape[0])):
            losses, sized = self._batch_loss(collate(part, self.types), sized=True)
            for k, v in losses.items():
                if k != "loss":
                    sums[k] = sums.get(k, 0.0) + v.item() * sized[k]
                    sizes[k] = sizes.get(k, 0.0) + sized[k]
        result = pooled_terms(sums, sizes, self.cfg.lambda_dag)
        items = self.val_items[:self.cfg.val_metrics_max]
        scores, raw_ok = [], 0
        for part in self._val_batches(items, lambda item: item.tokens.shape[0]):
            batch = collate(part, self.types)
            with self._autocast():
                out = self.model.generate(batch["tokens"].to(self.device), batch["token_mask"].to(self.device),
                                          batch["numbers"].to(self.device), beam=1, workers=self.learns_workers,
                                          outcomes=False)  # the metrics read the selector's choices, if trained
            for item, plan in zip(part, decode(on_cpu(out), self.types, self.workers)):
                gold = Graph([self.types.items[t] for t in item.types],
                             [self.workers.items[w] if w >= 0 else None for w in item.workers], item.parents)
                scores.append(score(plan.graph, gold))
                raw_ok += plan.raw_acyclic
        metrics = aggregate(scores)
        result.update({k: metrics[k] for k in PLAN_METRICS})
        result["raw_acyclic"] = raw_ok / len(items) if items else None
        return result

    @staticmethod
    def _val_batches(items: list[Encoded], length) -> list[list[Encoded]]:
        """Validation batches of VAL_BATCH items of like `length` (sorted by it): less padding than the items
        as split, and the same figures (the loss pools its batches exactly: `pooled_terms`)."""
        ordered = sorted(items, key=length)
        return [ordered[start:start + VAL_BATCH] for start in range(0, len(ordered), VAL_BATCH)]

    # ------------------------------------------------------------------ checkpoints and the store
    def save_checkpoint(self, path: Path, with_optimizer: bool = True) -> None:
        """Trained weights (not the frozen base encoder), config, vocabularies, metrics, catalogue, cost
        statistics and the training plans for the nearest-neighbour baseline; the main process only."""
        if self.is_main:
            with self.averaged():  # cloned: the raw weights come back into the same tensors after the block
                planning = {k: v.clone() for k, v in self.model.trainable_state_dict().items()}
            resumable = with_optimizer and self.average is not None
            save_checkpoint(Checkpoint(
                model_config=asdict(self.model_cfg), train_config=asdict(self.cfg), types=self.types.items,
                workers=self.workers.items, model=planning, catalogue=self.catalogue.to_dict(),
                stats=self.stats.to_dict(), epoch=self.epoch, step=self.step, best_val_loss=self.best_val,
                best_epoch=self.best_epoch, history=self.history,
                train_plans=[{"id": e.id, "instruction": e.instruction, "types": e.types, "workers": e.workers,
                              "parents": e.parents} for e in self.train_examples],
                val_ids=[e.id for e in self.val_examples],
                # raw: training resumes from them
                training_model=self.model.trainable_state_dict() if resumable else None,
                average=self.average.state_dict() if resumable else None,
                optimizer=self.optimizer.state_dict() if with_optimizer else None,
                scaler=self.scaler.state_dict() if self.scaler is not None and with_optimizer else None,
                rng=torch.get_rng_state(), elapsed=self.elapsed(), outcome_steps=self.outcome_steps,
                numerals_version=READER_VERSION if self.model_cfg.numerals else None), path)

    def _write_metrics(self, rows: list[dict]) -> None:
        if self.store is not None and self.run_id is not None and rows:
            self.store.runs.add_metrics(self.run_id, rows)

    def _update_run(self, **fields) -> None:
        if self.store is not None and self.run_id is not None:
            self.store.runs.update(self.run_id, **fields)

    def cleanup(self) -> None:
        if self.store is not None:
            self.store.close()
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _rounded(table: dict[str, dict]) -> dict[str, dict]:
    """A fit's validation table as the summary keeps it: per setting, node-F1, edge-F1 and exact match to 4 places."""
    return {k: {m: round(v[m], 4) for m in ("node_f1", "edge_f1", "exact_match")} for k, v in table.items()}


if __name__ == "__main__":  # the recipe knows nothing of the CLI that drives it
    sys.exit("run the training command instead: orchestai train … or torchrun … -m orchestai_core train …")
