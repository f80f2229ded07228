"""The Python API of a trained planner.

    from orchestai_core import Planner
    planner = Planner.load("checkpoints/phase1_best_model.pth")  # int8=True: faster on CPU
    planner.plan("Summarize the report and translate it into French")
    planner.plan_batch([...])

    planner.plan("…", cost_weight=2.5, latency_weight=0.5, budget_usd=0.01, budget_latency_ms=20000)
    planner.predict_outcomes(examples)  # every worker's predicted outcome on each example's gold workflow

Plans follow the spec's plan output: subtasks with id, type, worker, depends_on and worker_probs,
plus est_cost_usd, est_latency_ms along the critical path and critical_path; a planner with an outcome
model also gives each step p_success (and `worker_outcomes`: every allowed worker's predictions) and the
plan a p_success. `meta.selection` says how the workers were chosen:

- `outcome`: per step the allowed worker of highest utility p_success − cost_weight·cost/ref −
  latency_weight·latency/ref (`orchestai_core.outcomes.selection`), repaired to keep the budgets; the
  p_success it ranks by is made pessimistic first (`model.pessimism` standard errors, larger for a worker
  the training logs ran on the type only a few times: `logged_runs` in `worker_outcomes`), while the plan
  shows the predictions themselves.
- `imitation` (the seed's Phase 1): the worker the selector learnt from the logged choices, lowered by
  `cost_weight` × its relative cost (`model.selector.cost_adjusted`); latency_weight plays no part; budgets
  are kept by the same repair. A checkpoint whose training saw no outcome (`outcome_steps` 0) always plans
  this way, and its estimates are the training logs' medians (PlanStats).
- `none`: the checkpoint's training logs assign no worker (TaskBench rows, for one), so nothing it learnt
  chooses one: every step's `worker` is null, `worker_probs` empty, the estimates null and the critical path
  empty (`meta.selection_note` says so); the selector and the outcome model are not run.

Consensus decoding (`model/consensus.py`): when the checkpoint's training found it plans its validation logs
better, the model's plan and the plans of the nearest training requests vote and the plan most agreed on is
kept (with the type-presence classifier's opinion, `model/presence.py`, and neighbours by the similarity
learnt from the plans, `model/similarity.py`, when the fit found they help);
`meta.follows` then names the training request whose plan it is (its workers are still chosen for this
instruction). `Planner.load(…, consensus=False)` keeps the model's plans as decoded. The index the vote and
the nearest-neighbour baseline read holds every log the planner learnt from, its validation logs included
(the baseline compares requests by the plain cosine, always);
an evaluation leaves each log it plans out of that log's own vote (`decode_batch(…, leave_out=ids)`).

Allowed workers: a step of type t may go to the workers that ran a step of type t in the planner's
training logs (and, in `predict_outcomes`, to the step's logged worker); a type no training log assigned
a worker to may go to any worker. The outcome model has seen nothing of the other pairs.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
import torch

from orchestai_core.checkpoints import Checkpoint, CheckpointError, load_checkpoint
from orchestai_core.device import pick_device
from orchestai_core.examples import Example
from orchestai_core.model.batching import Encoded, collate, encode_labels
from orchestai_core.model.beam import check_beam
from orchestai_core.model.consensus import ConsensusSettings, choose
from orchestai_core.model.decode import DecodedPlan, Nearest, decode, on_cpu
from orchestai_core.model.decomposer import GREEDY, SEARCHED
from orchestai_core.model.numerals import reader_note
from orchestai_core.model.ordering import StepOrder, describe, reordered
from orchestai_core.model.outcome import OutcomePredictions
from orchestai_core.model.planner import SELECTIONS, PlannerConfig, PlannerModel
from orchestai_core.model.presence import TypePresence, presence_inputs
from orchestai_core.model.retrieval import FAMILIAR_SHARE, PlanIndex, familiar_floor, pool
from orchestai_core.model.selector import cost_adjusted, relative_costs
from orchestai_core.model.similarity import LearnedSimilarity
from orchestai_core.model.vocab import UNK, Vocab
from orchestai_core.outcomes.selection import Selection, choose_workers, pessimistic_success
from orchestai_core.plan_stats import PlanStats

DECODINGS = {GREEDY: "greedy", SEARCHED: "search"}  # how a plan was decoded (`Planner.decoded`)
NO_OUTCOMES = "imitation: the checkpoint's training saw no logged outcome (outcome_steps 0)"
NO_WORKERS = ("no worker: the checkpoint's training logs assign none (TaskBench rows, for one), so it plans the "
              "steps and their links only; cost and latency weights and budgets do not apply")


@dataclass(frozen=True)
class StepOutcomes:
    """The outcome model's predictions on one workflow: n_steps × n_workers arrays in the workflow's node
    order and `Planner.worker_names` column order. `allowed` marks the workers that may do each step (see
    the module docstring). Steps beyond the model's `max_nodes` have NaN predictions."""

    p_success: np.ndarray
    cost_usd: np.ndarray
    latency_ms: np.ndarray
    allowed: np.ndarray
    p_choose: np.ndarray  # what the selection ranks workers by: p_success made pessimistic (`pessimistic_success`)


class Planner:
    """A loaded planner: encoder + trained model + cost statistics, ready to plan instructions."""

    def __init__(self, checkpoint: Checkpoint, device: str = "auto", int8: bool = False, beam: int | None = None,
                 selection: str | None = None, consensus: bool = True, pessimism: float | None = None):
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
        self.stats_cost, self.stats_latency = self._stats_tables()
        self.outcome_steps = checkpoint.outcome_steps
        self.selection, self.selection_note = self._selection(selection)
        self.train_plans = checkpoint.train_plans
        self.type_runs = self._type_runs(checkpoint.train_plans)
        self.plans_workers = bool(self.type_runs)  # its training logs assigned workers: it learnt to choose them
        self.outcome_runs = self._outcome_runs()
        self.pessimism = self.config.pessimism if pessimism is None else _weight("pessimism", pessimism)
        self.val_ids = checkpoint.val_ids  # the logs held out for validation
        self.index, self.consensus, self.presence = self._consensus(checkpoint, consensus)
        self.similarity = self._similarity(checkpoint)
        saved_order = (checkpoint.consensus or {}).get("order") if consensus else None  # None: plans as decoded
        self.order = self._order(saved_order)
        # the step order fitted at the end of training, in words (None: the checkpoint has none, or plans as decoded)
        self.order_note = describe(saved_order.get("weight")) if saved_order else None
        # what the vote reads neighbours from: the index under the learnt similarity when it reads one
        self.vote_index = (self.index if self.similarity is None
                           else self.index.with_vectors(self.similarity.project(self.index.vectors)))
        # how near the requests it learnt from are to one another: a request far below is unlike them all
        self.familiar_floor = familiar_floor(self.index.vectors) if self.index is not None else None
        self.decoded = Counter()  # plans decoded so far, by how they were found (`DECODINGS`)
        self.validation = checkpoint.best_validation()  # plan metrics on them at the best epoch, greedy
        # trained with another numerals reader than this code's: said wherever the planner is used
        self.numerals_note = reader_note(checkpoint.numerals_version) if self.config.numerals else None
        if int8:
            self.quantize()

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto", int8: bool = False,
             beam: int | None = None, selection: str | None = None, consensus: bool = True,
             pessimism: float | None = None) -> Planner:
        """A planner from a checkpoint; CheckpointError (one line) when it cannot be used, ValueError
        when `int8` cannot be (not on CPU, or a fine-tuned encoder), `beam` is not a width or `selection`
        not one of outcome | imitation. `beam` plans are kept while decoding (default: the checkpoint's
        `model.beam`; 1 = greedy); `selection` overrides the checkpoint's `model.selection`; `consensus`
        False keeps the model's plans as decoded (see the module docstring); `pessimism` overrides the
        checkpoint's `model.pessimism` (outcome selection, `outcomes.selection.pessimistic_success`)."""
        beam = None if beam is None else check_beam(beam)
        _check_selection(selection)
        if pessimism is not None:
            _weight("pessimism", pessimism)
        checkpoint = load_checkpoint(path)
        try:
            planner = cls(checkpoint, device, beam=beam, selection=selection, consensus=consensus,
                          pessimism=pessimism)
        except (ValueError, KeyError, FileNotFoundError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: cannot build the planner ({str(exc).splitlines()[0]})") from None
        if int8:
            planner.quantize()  # outside the try: its errors are about the option, not the checkpoint
        return planner

    @property
    def worker_names(self) -> list[str]:
        """The workers, in the column order of every per-worker array the planner returns."""
        return list(self.workers.items)

    @property
    def has_outcomes(self) -> bool:
        """Whether the outcome model learnt from logged outcomes (otherwise its predictions mean nothing)."""
        return self.outcome_steps > 0

    def _selection(self, override: str | None) -> tuple[str, str | None]:
        """The selection plans use, and why it is not the one asked for (None when it is)."""
        _check_selection(override)
        wanted = override or self.config.selection
        if wanted == "outcome" and not self.has_outcomes:
            return "imitation", NO_OUTCOMES
        return wanted, None

    def _consensus(self, checkpoint: Checkpoint, wanted: bool
                   ) -> tuple[PlanIndex | None, ConsensusSettings, TypePresence | None]:
        """The index of the plans learnt from (training plans, then validation plans when the checkpoint
        keeps them; None when it has no vectors), the consensus settings (off when not wanted, not fitted,
        or fitted off) and the type-presence classifier (None when the vote does not read it)."""
        saved = checkpoint.consensus or {}
        vectors = saved.get("vectors")
        plans = checkpoint.train_plans + list(saved.get("validation_plans") or [])
        index = PlanIndex(vectors.to(self.device), plans) if vectors is not None else None
        settings = ConsensusSettings.from_dict(saved) if saved else ConsensusSettings(None)
        if not wanted or index is None:
            settings = ConsensusSettings(None, settings.k, settings.sharpness)
        presence = saved.get("presence")
        if not settings.on or not settings.presence_weight or presence is None:
            settings = replace(settings, presence_weight=0.0)
            presence = None
        if presence is None:
            return index, settings, None
        presence = TypePresence.from_dict(presence)
        if presence.width != self.encoder.hidden_size + self.config.hidden:
            raise ValueError(f"its type-presence classifier reads {presence.width} features of a request, where "
                             f"this planner gives {self.encoder.hidden_size + self.config.hidden}")
        return index, settings, presence

    def _similarity(self, checkpoint: Checkpoint) -> LearnedSimilarity | None:
        """The similarity learnt from the plans (`model/similarity.py`) when the vote reads it, else None."""
        if not self.consensus.on or not self.consensus.learned:
            return None
        saved = (checkpoint.consensus or {}).get("similarity")
        if saved is None:
            raise ValueError("its consensus settings read a similarity learnt from the plans, which it does not hold")
        similarity = LearnedSimilarity.from_dict(saved)
        if similarity.width != self.index.vectors.shape[1]:
            raise ValueError(f"its learnt similarity reads vectors of width {similarity.width}, where its index "
                             f"holds vectors of width {self.index.vectors.shape[1]}")
        return similarity

    def _order(self, saved: dict | None) -> StepOrder | None:
        """The step order fitted at the end of training (`model/ordering.py`, its checkpoint entry `saved`), when it
        re-orders plans: fitted with a weight above 0."""
        if not saved or not saved.get("weight"):
            return None
        order = StepOrder.from_dict(saved).to(self.device)
        if order.names.shape[1] != self.encoder.hidden_size:
            raise ValueError(f"its step order reads token states of width {order.names.shape[1]}, where this "
                             f"planner's encoder gives {self.encoder.hidden_size}")
        return order

    def _type_runs(self, train_plans: list[dict]) -> dict[str, np.ndarray]:
        """Per type, how many steps of that type the training logs ran on each worker (k counts)."""
        runs: dict[str, np.ndarray] = {}
        for plan in train_plans:
            for t, w in zip(plan["types"], plan["workers"]):
                if w in self.workers.index:
                    runs.setdefault(t, np.zeros(len(self.workers)))[self.workers[w]] += 1
        return runs

    def _outcome_runs(self) -> dict[str, np.ndarray]:
        """Per type, the training logs' steps of that type with an outcome on each worker (k counts): the runs
        behind the outcome model's success prior (its `prior_runs`). Empty without an outcome model."""
        if not self.has_outcomes:
            return {}
        table = self.model.outcome.prior_runs.cpu().numpy().astype(float)
        return {t: table[self.types[t]] for t in self.type_runs if t in self.types.index}

    def observed_runs(self, types: list[str]) -> np.ndarray:
        """n × k: how many runs with a logged outcome each worker had on a step of each type in the training
        logs (0 for a type they never show): what a predicted success rate rests on, so what the pessimism
        of the selection reads. Steps that were assigned but never ran (skipped after a failure) count
        towards the allowed workers (`type_runs`), not here."""
        none = np.zeros(len(self.workers))
        return np.array([self.outcome_runs.get(t, none) for t in types], dtype=float).reshape(len(types), -1)

    def allowed_workers(self, types: list[str], logged: list[str | None] | None = None) -> np.ndarray:
        """n × k: the workers that may do each step (see the module docstring)."""
        allowed = np.zeros((len(types), len(self.workers)), dtype=bool)
        for i, t in enumerate(types):
            runs = self.type_runs.get(t)
            if runs is not None:
                allowed[i] = runs > 0
            else:
                allowed[i] = True
            if logged is not None and logged[i] in self.workers.index:
                allowed[i, self.workers[logged[i]]] = True
        return allowed

    @torch.inference_mode()
    def predict_outcomes(self, examples: list[Example], batch_size: int = 64) -> list[StepOutcomes]:
        """Every worker's predicted success probability, cost (USD) and latency (ms) on each step of each
        example's gold workflow (teacher forced on its types and parents), one StepOutcomes per example."""
        results = []
        for start in range(0, len(examples), batch_size):
            part = examples[start:start + batch_size]
            outcomes = self._teacher_forced([self._check(e.instruction) for e in part], part)
            p, cost, latency = (a.cpu().numpy().astype(float) for a in
                                (outcomes.p_success(), outcomes.cost_usd(), outcomes.latency_ms()))
            for b, e in enumerate(part):
                n, kept = len(e.types), min(len(e.types), self.config.max_nodes)
                arrays = []
                for values in (p, cost, latency):
                    full = np.full((n, len(self.workers)), math.nan)
                    full[:kept] = values[b, :kept]
                    arrays.append(full)
                choose = pessimistic_success(np.nan_to_num(arrays[0]), self.observed_runs(e.types), self.pessimism)
                choose[np.isnan(arrays[0])] = math.nan
                results.append(StepOutcomes(*arrays, self.allowed_workers(e.types, e.workers), choose))
        return results

    def _teacher_forced(self, texts: list[str], examples: list[Example]) -> OutcomePredictions:
        """The outcome model's predictions on the examples' own workflows (B×N×W)."""
        batch, tokens, words = self.encoder.tokenize_words(texts, self.device)
        states = self.encoder.frozen_states(**batch).float()
        numbers = self.model.numbers(tokens, words)
        lengths = batch["attention_mask"].sum(1).tolist()
        items = [Encoded(states[b, :n], numbers[b, :n], *encode_labels(e, self.types, self.workers,
                                                                         self.config.max_nodes))
                 for b, (e, n) in enumerate(zip(examples, lengths))]
        inputs = {k: v.to(self.device) for k, v in collate(items, self.types).items()}
        *_, outcomes = self.model(inputs["tokens"], inputs["token_mask"], inputs["numbers"], inputs["prev"],
                                  inputs["emitted"], inputs["node_valid"])
        return outcomes

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

    def _stats_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """types × workers: the training logs' median cost (USD) and latency (ms) of each pair (PlanStats)."""
        pairs = [[self.stats.estimate(t, w) for w in self.workers.items] for t in self.types.items]
        table = np.array(pairs, dtype=float).reshape(len(self.types), len(self.workers), 2)
        return table[..., 0], table[..., 1]

    @staticmethod
    def _check(text: str, position: int | None = None) -> str:
        where = "" if position is None else f" (item {position + 1})"
        if not isinstance(text, str):
            raise ValueError(f"the instruction{where} must be text, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"the instruction{where} is empty: type what the workflow should do")
        return text.strip()

    @torch.inference_mode()  # outputs are read, never trained on
    def decode_batch(self, texts: list[str], cost_weight: float = 0.0, beam: int | None = None,
                     leave_out: list[str | None] | None = None) -> list[DecodedPlan]:
        """Raw decoded plans for a batch; instructions longer than `max_length` tokens are truncated.
        `beam` overrides the planner's width for this call. `leave_out`: per text, the id of the log it
        comes from, whose own plan the consensus vote must not read (evaluating on logs the index holds)."""
        return self.decode_and_embed(texts, cost_weight, beam, leave_out)[0]

    @torch.inference_mode()
    def decode_and_embed(self, texts: list[str], cost_weight: float = 0.0, beam: int | None = None,
                         leave_out: list[str | None] | None = None) -> tuple[list[DecodedPlan], torch.Tensor]:
        """`decode_batch`, and each instruction's `embed` vector (B×E, on the CPU) from the same pass of the
        encoder: what an evaluation's nearest-neighbour baseline reads, without encoding every instruction twice."""
        decoded, _, _, vectors = self._generate(self._checked(texts), cost_weight, self._beam(beam), leave_out,
                                                embed=True)
        return decoded, vectors.cpu()

    def _generate(self, texts: list[str], cost_weight: float, beam: int, leave_out: list[str | None] | None = None,
                  embed: bool = False) -> tuple[list[DecodedPlan], list[dict], list[bool], torch.Tensor | None]:
        """Decoded plans (imitation's workers), each one's per-step arrays (`_row`), on the CPU, whether each
        instruction was longer than the encoder reads (`max_length` tokens), and, with `embed` or an index of
        training plans, their `embed` vectors (B×E; else None)."""
        batch, tokens, words = self.encoder.tokenize_words(texts, self.device)
        states, mask = self.encoder.frozen_states(**batch), batch["attention_mask"]
        truncated = self.encoder.truncated(texts, mask)
        numbers = self.model.numbers(tokens, words).to(self.device)
        decoded, rows, vectors = self._decode(states, mask, numbers, cost_weight, beam, leave_out, embed)
        return decoded, rows, truncated, vectors

    @torch.inference_mode()
    def decode_encoded(self, states: torch.Tensor, mask: torch.Tensor, numbers: torch.Tensor,
                       beam: int | None = None, leave_out: list[str | None] | None = None) -> list[DecodedPlan]:
        """`decode_batch` from what the encoder made of the instructions, as training caches it: frozen-encoder
        token states (B×T×E), their attention mask (B×T) and the numbers their words write (B×T×2); nothing is
        encoded again. `leave_out` as in `decode_batch`."""
        device = self.device
        return self._decode(states.to(device), mask.to(device), numbers.to(device), 0.0, self._beam(beam),
                            leave_out)[0]

    def _decode(self, states: torch.Tensor, mask: torch.Tensor, numbers: torch.Tensor, cost_weight: float, beam: int,
                leave_out: list[str | None] | None = None, embed: bool = False
                ) -> tuple[list[DecodedPlan], list[dict], torch.Tensor | None]:
        """`_generate` after the encoder: the decoded plans, their per-step arrays and the instructions' `embed`
        vectors (what the consensus vote and each plan's nearest training request are looked up by), worked out
        only with `embed` or an index of training plans: a planner without one needs none, and under fine-tuned
        top layers they cost those layers' pass again."""
        out = on_cpu(self.model.generate(states, mask.bool(), numbers, beam, self.plans_workers, self.has_outcomes))
        self.decoded.update(DECODINGS[how] for how in out["decoding"].tolist())
        decoded = decode(out, self.types, self.workers, self.relative_cost, cost_weight)
        rows = [self._row(out, b) for b in range(len(decoded))]
        vectors = pool(self.encoder.tuned_states(states, mask).float(), mask) \
            if embed or self.index is not None else None  # consensus on: the index is there
        if self.consensus.on:
            self._vote(states, mask, numbers, vectors, out["reading"], decoded, rows, cost_weight, leave_out)
        if self.order is not None:
            self.reorder(states, mask, decoded, rows)
        if self.index is not None:
            near, sims = self.index.nearest(vectors, 1, leave_out)
            for b, (i, s) in enumerate(zip(near, sims)):
                if i:
                    nearest = Nearest(s[0], self.index.plans[i[0]]["instruction"], i[0])
                    decoded[b] = replace(decoded[b], nearest=nearest)
        return decoded, rows, vectors

    def reorder(self, states: torch.Tensor, mask: torch.Tensor, decoded: list[DecodedPlan], rows: list[dict],
                order: StepOrder | None = None) -> None:
        """Re-order, in place, the chain plans whose requests ask for their steps in another order
        (`model/ordering.py`; `order`, default the planner's): their steps, each with its workers' scores and
        per-step arrays. `states` and `mask`: the requests' frozen-encoder token states (B×T×E) and mask (B×T)."""
        order = self.order if order is None else order
        places = order.places(states, mask, [plan.graph.types for plan in decoded])
        for b, (plan, where) in enumerate(zip(decoded, places)):
            found = reordered(plan.graph, where, order.weight)
            if found is None:
                continue
            graph, steps = found
            decoded[b] = replace(plan, graph=graph, worker_probs=[plan.worker_probs[i] for i in steps])
            rows[b] = {k: v[steps] for k, v in rows[b].items()}

    def _vote(self, states: torch.Tensor, mask: torch.Tensor, numbers: torch.Tensor, vectors: torch.Tensor,
              readings: torch.Tensor, decoded: list[DecodedPlan], rows: list[dict], cost_weight: float,
              leave_out: list[str | None] | None = None) -> None:
        """Consensus decoding: replace, in place, the decoded plans that lose the vote by the training plan
        that wins it, with the selector's and the outcome model's outputs for this instruction. `vectors`: the
        instructions' `embed` vectors."""
        learnt = self.consensus.learned and self.similarity is not None
        index = self.vote_index if learnt else self.index
        indices, sims = index.nearest(self.similarity.project(vectors) if learnt else vectors, self.consensus.k,
                                      leave_out)
        expected = None
        if self.presence is not None:  # `readings`: the planner's own (generate's), on the CPU
            expected = self.presence.probabilities(presence_inputs(vectors.cpu(), readings))
        picks = {}
        for b, (near, sim) in enumerate(zip(indices, sims)):
            candidates = [decoded[b].graph, *(self.index.graphs[i] for i in near)]
            scores = None if expected is None else self.presence.scores(candidates, expected[b])
            pick = choose(candidates[0], candidates[1:], sim, self.consensus, presence=scores)
            if pick is not None and self.index.plans[near[pick]]["types"]:
                picks[b] = near[pick]
        if not picks:
            return
        chosen = list(picks)
        limit = self.config.max_nodes
        plans = [self.index.plans[picks[b]] for b in chosen]
        type_ids = [[self.types.get(t, self.types[UNK]) for t in p["types"][:limit]] for p in plans]
        parents = [[[q for q in ps if q < limit] for ps in p["parents"][:limit]] for p in plans]
        rows_of = torch.tensor(chosen, device=states.device)
        out = on_cpu(self.model.follow(states[rows_of], mask[rows_of].bool(), numbers[rows_of], type_ids, parents,
                                        self.plans_workers, self.has_outcomes))
        for j, (b, plan) in enumerate(zip(chosen, decode(out, self.types, self.workers, self.relative_cost,
                                                          cost_weight))):
            decoded[b] = replace(plan, follows=plans[j]["instruction"])
            rows[b] = self._row(out, j)

    def _checked(self, texts: list[str]) -> list[str]:
        return [self._check(t, i if len(texts) > 1 else None) for i, t in enumerate(texts)]

    @torch.inference_mode()
    def read(self, texts: list[str], batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        """(N×E index vectors, N×F type-presence inputs) of instructions: what the consensus vote reads of them."""
        parts = []
        for start in range(0, len(texts), batch_size):
            batch, tokens, words = self.encoder.tokenize_words(texts[start:start + batch_size], self.device)
            parts.append(self.readings(self.encoder.frozen_states(**batch), batch["attention_mask"],
                                       self.model.numbers(tokens, words).to(self.device)))
        return self.stacked_readings(parts)

    @torch.inference_mode()
    def readings(self, states: torch.Tensor, mask: torch.Tensor, numbers: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B×E index vectors, B×F type-presence inputs), on the CPU, from a batch's frozen-encoder states
        (B×T×E), attention mask (B×T, 1 on tokens) and numbers (B×T×2), through the encoder's fine-tuned top
        layers if it has any."""
        vector = pool(self.encoder.tuned_states(states, mask), mask)
        return vector.cpu(), presence_inputs(vector, self.model.reading(states, mask.bool(), numbers)).cpu()

    def stacked_readings(self, parts: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The `readings` of several batches, one after the other (empty, of the right widths, for none)."""
        if not parts:
            width = self.encoder.hidden_size
            return torch.zeros(0, width), torch.zeros(0, width + self.config.hidden)
        return torch.cat([v for v, _ in parts]), torch.cat([i for _, i in parts])

    @torch.inference_mode()
    def embed(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """Mean-pooled, normalised encoder embeddings (for the nearest-neighbour baseline)."""
        parts = []
        for start in range(0, len(texts), batch_size):
            batch = self.encoder.tokenize(texts[start:start + batch_size], self.device)
            parts.append(pool(self.encoder(**batch).float(), batch["attention_mask"]).cpu())
        return torch.cat(parts) if parts else torch.zeros(0, self.encoder.hidden_size)

    def _beam(self, beam: int | None) -> int:
        return self.beam if beam is None else check_beam(beam)

    def plan_batch(self, texts: list[str], ids: list[str] | None = None, cost_weight: float = 0.0,
                   batch_size: int = 64, beam: int | None = None, latency_weight: float = 0.0,
                   budget_usd: float | None = None, budget_latency_ms: float | None = None) -> list[dict]:
        """Plans for many instructions, in batches (instructions of similar length together). Workers are
        chosen by the planner's selection (`self.selection`, see the module docstring) with `cost_weight`
        and `latency_weight`, within the per-plan budgets `budget_usd` (expected total cost) and
        `budget_latency_ms` (expected critical-path latency) whenever a plan can meet them. `beam`
        overrides the planner's decoding width for this call (1 = greedy)."""
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"got {len(ids)} ids for {len(texts)} instructions")
        beam = self._beam(beam)
        choice = Choice(_weight("cost_weight", cost_weight), _weight("latency_weight", latency_weight),
                        _budget("budget_usd", budget_usd), _budget("budget_latency_ms", budget_latency_ms))
        texts = self._checked(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        plans: list[dict | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            part = order[start:start + batch_size]
            began = time.perf_counter()
            decoded, rows, truncated, _ = self._generate([texts[i] for i in part], choice.cost_weight, beam)
            for i, d, row in zip(part, decoded, rows):
                plans[i] = self._to_plan(ids[i] if ids else f"plan-{i + 1}", texts[i], d, row, choice)
            ms = (time.perf_counter() - began) * 1000 / len(part)
            for i, cut in zip(part, truncated):
                plans[i]["meta"].update(planning_ms=round(ms, 2), beam=beam, truncated=cut)
        return plans

    def plan(self, text: str, cost_weight: float = 0.0, plan_id: str = "plan-1", beam: int | None = None,
             latency_weight: float = 0.0, budget_usd: float | None = None,
             budget_latency_ms: float | None = None) -> dict:
        """One plan in the spec's plan-output shape; see `plan_batch` for the weights and budgets."""
        return self.plan_batch([text], [plan_id], cost_weight, beam=beam, latency_weight=latency_weight,
                               budget_usd=budget_usd, budget_latency_ms=budget_latency_ms)[0]

    def _row(self, out: dict, b: int) -> dict[str, np.ndarray]:
        """One plan's per-step arrays (n × k): the imitation scores, and the outcome model's predictions (each
        left out where the planner has none)."""
        n = int(out["lengths"][b])
        row = {"types": out["types"][b, :n]}
        if out["workers"] is not None:
            row["workers"] = out["workers"][b, :n].float()
        if out["success"] is not None:
            row.update(p=torch.sigmoid(out["success"][b, :n].float()).numpy().astype(float),
                       cost=out["log_cost"][b, :n].float().exp().numpy().astype(float),
                       latency=out["log_latency"][b, :n].float().exp().numpy().astype(float))
        return row

    def _estimates(self, row: dict) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """n × k success probabilities (None without an outcome model), costs and latencies of every worker."""
        if self.has_outcomes:
            return row["p"], row["cost"], row["latency"]
        type_ids = row["types"].numpy()
        return None, self.stats_cost[type_ids], self.stats_latency[type_ids]

    def _imitation(self, row: dict, cost_weight: float) -> np.ndarray:
        """n × k: the selector's distribution over workers, lowered by the cost weight as decoding does."""
        if cost_weight:
            scores = cost_adjusted(row["workers"], self.relative_cost[row["types"]], cost_weight)
        else:
            scores = row["workers"].log_softmax(-1)
        return scores.softmax(-1).numpy().astype(float)

    def _choose(self, parents: list[list[int]], row: dict, estimates: tuple, runs: np.ndarray,
                allowed: np.ndarray, choice: Choice) -> Selection:
        p, cost, latency = estimates
        if self.selection == "outcome":
            ranked = pessimistic_success(p, runs, self.pessimism)
            return choose_workers(ranked, cost, latency, parents, choice.cost_weight, choice.latency_weight,
                                  choice.budget_usd, choice.budget_latency_ms, allowed)
        # The selector's (cost-adjusted) likeliest worker; only the budgets' repair looks at cost and latency.
        return choose_workers(self._imitation(row, choice.cost_weight), cost, latency, parents,
                              budget_usd=choice.budget_usd, budget_latency_ms=choice.budget_latency_ms)

    def _to_plan(self, plan_id: str, text: str, decoded: DecodedPlan, row: dict, choice: Choice) -> dict:
        if not self.plans_workers:
            return self._steps_only(plan_id, text, decoded, choice)
        g = decoded.graph
        p, cost, latency = estimates = self._estimates(row)
        allowed, runs = self.allowed_workers(g.types), self.observed_runs(g.types)
        selection = self._choose(g.parents, row, estimates, runs, allowed, choice)
        # Python lists: a plan reads a hundred or so numbers one at a time, which numpy's scalars make slow
        costs, latencies = cost.tolist(), latency.tolist()
        chances, logged = (p.tolist(), runs.tolist()) if p is not None else (None, None)
        subtasks = []
        for i, (t, w, parents) in enumerate(zip(g.types, selection.workers, g.parents)):
            task = {"id": f"s{i + 1}", "type": t, "worker": self.workers.items[w],
                    "depends_on": [f"s{q + 1}" for q in parents], "worker_probs": decoded.worker_probs[i],
                    "est_cost_usd": _usd(costs[i][w]), "est_latency_ms": round(latencies[i][w], 1)}
            if chances is not None:
                task["p_success"] = round(chances[i][w], 4)
                task["worker_outcomes"] = self._worker_outcomes(chances[i], costs[i], latencies[i], logged[i],
                                                                np.flatnonzero(allowed[i]).tolist())
            subtasks.append(task)
        plan = {"id": plan_id, "instruction": text, "subtasks": subtasks,
                "est_cost_usd": _usd(selection.total_cost), "est_latency_ms": round(selection.critical_path_ms, 1),
                "critical_path": [f"s{i + 1}" for i in selection.critical_path]}
        if p is not None:
            plan["p_success"] = round(float(np.prod([p[i, w] for i, w in enumerate(selection.workers)])), 4)
        meta = _meta(decoded, choice, self.selection, self.selection_note, self.familiar_floor)
        if self.selection == "outcome":
            meta["pessimism"] = self.pessimism
        if choice.budget_usd is not None or choice.budget_latency_ms is not None:
            meta["budget"] = {"usd": choice.budget_usd, "latency_ms": choice.budget_latency_ms,
                              "feasible": selection.feasible, "violations": list(selection.violations)}
        plan["meta"] = meta
        return plan

    def _steps_only(self, plan_id: str, text: str, decoded: DecodedPlan, choice: Choice) -> dict:
        """The plan of a planner that learnt no worker choice (`plans_workers` False): its steps and links,
        each step with no worker (null, as a log may have it) and no estimate, since nothing it learnt
        chooses or prices a worker; no critical path (no latency to weigh)."""
        g = decoded.graph
        subtasks = [{"id": f"s{i + 1}", "type": t, "worker": None, "depends_on": [f"s{q + 1}" for q in parents],
                     "worker_probs": {}, "est_cost_usd": None, "est_latency_ms": None}
                    for i, (t, parents) in enumerate(zip(g.types, g.parents))]
        return {"id": plan_id, "instruction": text, "subtasks": subtasks, "est_cost_usd": None,
                "est_latency_ms": None, "critical_path": [],
                "meta": _meta(decoded, choice, "none", NO_WORKERS, self.familiar_floor)}

    def _worker_outcomes(self, p: list[float], cost: list[float], latency: list[float], runs: list[float],
                         allowed: list[int]) -> dict[str, dict]:
        """One step's predictions (per worker, in `worker_names` order) for every allowed worker, likeliest to
        succeed first, with how many runs of that worker on the step's type the training logs showed (what the
        selection's pessimism reads)."""
        ranked = sorted(allowed, key=lambda j: (-p[j], cost[j]))
        return {self.workers.items[j]: {"p_success": round(p[j], 4), "est_cost_usd": _usd(cost[j]),
                                        "est_latency_ms": round(latency[j], 1), "logged_runs": int(runs[j])}
                for j in ranked}


@dataclass(frozen=True)
class Choice:
    """How a plan's workers are chosen: the utility's weights and the per-plan budgets (None: no budget)."""

    cost_weight: float = 0.0
    latency_weight: float = 0.0
    budget_usd: float | None = None
    budget_latency_ms: float | None = None


def _meta(decoded: DecodedPlan, choice: Choice, selection: str, note: str | None, floor: float | None) -> dict:
    """What every plan's `meta` says of how it was made (the caller adds its selection's own entries). `floor`:
    the planner's `familiar_floor`."""
    meta = {"raw_adjacency_acyclic": decoded.raw_acyclic, "selection": selection,
            "cost_weight": choice.cost_weight, "latency_weight": choice.latency_weight}
    if note:
        meta["selection_note"] = note
    if decoded.follows is not None:
        meta["follows"] = decoded.follows
    if decoded.nearest is not None:
        similarity = decoded.nearest.similarity
        meta["nearest"] = {"similarity": round(similarity, 3), "instruction": decoded.nearest.instruction,
                           "familiar_floor": None if floor is None else round(floor, 3),
                           "unfamiliar": floor is not None and similarity < floor}
    return meta


def unfamiliar_warning(plan: dict) -> str | None:
    """What to tell whoever reads a plan whose request is unlike every request its planner learnt from
    (`meta.nearest.unfamiliar`); None for any other plan."""
    nearest = plan.get("meta", {}).get("nearest")
    if not nearest or not nearest.get("unfamiliar"):
        return None
    return (f"this request is unlike those the planner learnt from: the nearest of them is {nearest['similarity']:.2f} "
            f"similar (cosine), where {FAMILIAR_SHARE} of its own requests are at least "
            f"{nearest['familiar_floor']:.2f} similar to another. Check the plan before running it")


def _usd(value: float) -> float:
    """A cost to 4 significant digits: steps cost from $0.00001 to $0.1, so fixed decimals would blur them."""
    return float(f"{float(value):.4g}")


def _weight(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number ≥ 0, got {value!r}")
    return float(value)


def _budget(name: str, value) -> float | None:
    return None if value is None else _weight(name, value)


def _check_selection(selection: str | None) -> None:
    if selection is not None and selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {', '.join(SELECTIONS)}, got {selection!r}")
