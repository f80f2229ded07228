"""The planner model: instruction encoder, task decomposer, workflow graph, worker selector (imitation of the
logged choices) and outcome model (each worker's predicted success, cost and latency on each step)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from orchestai_core.examples import Cut, Example, cuts
from orchestai_core.model.batching import adjacency, workflow_inputs
from orchestai_core.model.beam import check_beam
from orchestai_core.model.decomposer import Request, TaskDecomposer
from orchestai_core.model.encoder import DEFAULT_ENCODER, InstructionEncoder
from orchestai_core.model.graph import WorkflowGraph
from orchestai_core.model.numerals import token_numbers
from orchestai_core.model.outcome import OutcomeHead, OutcomePredictions
from orchestai_core.model.selector import WorkerSelector
from orchestai_core.model.vocab import BOS, EOS, PAD, UNK, Vocab

FROZEN_PREFIX = "encoder.model."  # the pretrained base; checkpoints keep only what training changed
SELECTIONS = ("outcome", "imitation")
KEPT_EDGE_LOGIT = 20.0  # `follow`: a given plan's links (and no others) as edge logits


@dataclass
class PlannerConfig:
    """Model shape; every default is also written in config.yaml under `encoder:` and `model:`."""

    encoder: str = DEFAULT_ENCODER
    finetune_layers: int = 0
    max_length: int = 128
    layers: int = 0  # encoder layers kept, bottom up (0 = all)
    hidden: int = 128
    type_embedding: int = 64
    gnn_rounds: int = 2
    gnn_heads: int = 4
    selector_heads: int = 4
    count_heads: int = 4
    max_nodes: int = 64
    dropout: float = 0.2
    beam: int = 3  # plans kept while decoding (1 = greedy); plan and eval can override it
    selection: str = "outcome"  # outcome (utility of predicted outcomes) | imitation (the logged choices)
    pessimism: float = 1.0  # outcome selection ranks by p − pessimism standard errors (outcomes.selection)
    numerals: bool = True  # read the numbers and enumeration sizes the words write (model/numerals.py)
    outcome_residual_runs: float = 100.0  # the request's part of a success prediction counts runs/(runs + this)

    @classmethod
    def from_dict(cls, data: dict) -> PlannerConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model setting(s): {', '.join(sorted(unknown))}")
        config = cls(**data)
        check_beam(config.beam, "model.beam")
        if not isinstance(config.numerals, bool):
            raise ValueError(f"model.numerals must be true or false, got {config.numerals!r}")
        if isinstance(config.pessimism, bool) or not isinstance(config.pessimism, (int, float)) \
                or not config.pessimism >= 0:
            raise ValueError(f"model.pessimism must be a number ≥ 0, got {config.pessimism!r}")
        if isinstance(config.outcome_residual_runs, bool) \
                or not isinstance(config.outcome_residual_runs, (int, float)) or not config.outcome_residual_runs > 0:
            raise ValueError(f"model.outcome_residual_runs must be a number > 0, got {config.outcome_residual_runs!r}")
        if config.selection not in SELECTIONS:
            raise ValueError(f"model.selection must be one of {', '.join(SELECTIONS)}, got {config.selection!r}")
        return config


class TokenProjection(nn.Module):
    """The encoder's token states brought down to the planner's width once, with the numbers each
    token writes, so every head reads the same compact tokens (B×T×E → B×T×H)."""

    def __init__(self, enc_dim: int, dim: int, dropout: float):
        super().__init__()
        self.proj = nn.Linear(enc_dim, dim)
        self.numbers = nn.Linear(2, dim)
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        numbers = torch.log1p(numbers.to(tokens.dtype))
        return self.dropout(self.norm(self.proj(tokens) + self.numbers(numbers)))


class PlannerModel(nn.Module):
    def __init__(self, config: PlannerConfig, types: Vocab, workers: Vocab, encoder: InstructionEncoder):
        super().__init__()
        self.config, self.types, self.workers = config, types, workers
        h = config.hidden
        self.encoder = encoder
        self.tokens = TokenProjection(encoder.hidden_size, h, config.dropout)
        self.decomposer = TaskDecomposer(len(types), h, config.type_embedding, config.max_nodes, config.dropout,
                                         config.count_heads)
        self.graph = WorkflowGraph(h, config.gnn_rounds, config.gnn_heads, config.max_nodes, config.dropout)
        self.selector = WorkerSelector(h, h, len(workers), config.selector_heads, config.dropout)
        self.outcome = OutcomeHead(h, len(types), len(workers), config.selector_heads, config.dropout,
                                   config.outcome_residual_runs)

    @classmethod
    def from_config(cls, config: PlannerConfig, types: Vocab, workers: Vocab) -> PlannerModel:
        encoder = InstructionEncoder.from_pretrained(config.encoder, config.finetune_layers, config.max_length,
                                                     config.layers)
        return cls(config, types, workers, encoder)

    def forward(self, states: torch.Tensor, token_mask: torch.Tensor, numbers: torch.Tensor, prev: torch.Tensor,
                emitted: torch.Tensor, node_valid: torch.Tensor, workers: bool = True, outcomes: bool = True,
                ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor, OutcomePredictions | None]:
        """Teacher-forced outputs from frozen-encoder states and the numbers the tokens write: logits of
        types (B×S×V), workers (B×N×W) and edges (B×N×N), expected type totals (B×S), and the outcome
        model's predictions for every worker on every node (OutcomePredictions, B×N×W). `workers` and
        `outcomes` False leave out the selector's and the outcome model's (None): training on logs that record
        no worker, or no outcome, has nothing to teach them."""
        tokens, request = self._request(states, token_mask, numbers)
        type_logits, nodes, totals = self.decomposer(request, prev, emitted)
        edge_logits, nodes = self.graph(nodes[:, :-1], node_valid)  # the last step emits END, not a node
        return (type_logits, self.selector(nodes, tokens, token_mask, request.pooled) if workers else None,
                edge_logits, totals, self.outcome(nodes, tokens, token_mask, emitted[:, :-1]) if outcomes else None)

    def _request(self, states: torch.Tensor, token_mask: torch.Tensor, numbers: torch.Tensor
                 ) -> tuple[torch.Tensor, Request]:
        """The tokens at the planner's width (B×T×H) and the decomposer's reading of each request."""
        tokens = self.tokens(self.encoder.tuned_states(states, token_mask), numbers)
        return tokens, self.decomposer.read(tokens, token_mask, numbers)

    @staticmethod
    def _reading(request: Request) -> torch.Tensor:
        return nn.functional.normalize(request.pooled.float(), dim=-1)

    @torch.inference_mode()
    def reading(self, states: torch.Tensor, token_mask: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
        """B×H: the decomposer's pooled reading of each request (what it starts decoding from), normalised;
        the type-presence classifier reads it beside the encoder's mean (`model/presence.py`)."""
        return self._reading(self._request(states, token_mask, numbers)[1])

    @torch.inference_mode()  # cheaper per operation than no_grad; decoding runs many small ones
    def generate(self, states: torch.Tensor, token_mask: torch.Tensor, numbers: torch.Tensor,
                 beam: int | None = None, workers: bool = True, outcomes: bool = True
                 ) -> dict[str, torch.Tensor | None]:
        """Plans from frozen-encoder states: type ids (B×N), lengths, edge and worker logits, the outcome
        model's success logits, log-cost and log-latency (B×N×W), each request's `reading` (B×H) and how its
        plan was decoded (`decoding`, B longs: `TaskDecomposer.decode`). `beam` plans are kept while decoding
        (default: the config's; 1 = greedy). `workers` and `outcomes` False leave out the selector's and the
        outcome model's outputs (None): a planner whose training logs taught them nothing."""
        tokens, request = self._request(states, token_mask, numbers)
        never = [self.types[PAD], self.types[BOS], self.types[UNK]]
        beam = self.config.beam if beam is None else beam
        type_ids, nodes, lengths, how = self.decomposer.decode(request, self.types[BOS], self.types[EOS], never,
                                                               self.config.max_nodes, beam)
        valid = torch.arange(type_ids.shape[1], device=states.device).unsqueeze(0) < lengths.unsqueeze(1)
        edge_logits, nodes = self.graph(nodes, valid)
        return {"types": type_ids, "lengths": lengths, "edges": edge_logits,
                "workers": self.selector(nodes, tokens, token_mask, request.pooled) if workers else None,
                **self._outcomes(self.outcome(nodes, tokens, token_mask, type_ids) if outcomes else None),
                "reading": self._reading(request), "decoding": how}

    @staticmethod
    def _outcomes(predictions: OutcomePredictions | None) -> dict[str, torch.Tensor | None]:
        if predictions is None:
            return dict.fromkeys(("success", "log_cost", "log_latency"))
        return {"success": predictions.success, "log_cost": predictions.log_cost,
                "log_latency": predictions.log_latency}

    @torch.inference_mode()
    def follow(self, states: torch.Tensor, token_mask: torch.Tensor, numbers: torch.Tensor,
               type_ids: list[list[int]], parents: list[list[list[int]]], workers: bool = True,
               outcomes: bool = True) -> dict[str, torch.Tensor | None]:
        """`generate`'s outputs for given plans instead of decoded ones (one per batch row, each at least one
        step): the selector's and the outcome model's outputs on the plan's steps (None where `workers` or
        `outcomes` leave them out), and edge logits that keep exactly its links."""
        device = states.device
        lengths, valid, prev, emitted = (t.to(device) for t in workflow_inputs(type_ids, self.types))
        _, chosen, _, _, predicted = self.forward(states, token_mask, numbers, prev, emitted, valid, workers, outcomes)
        edges = (2 * adjacency(parents, valid.shape[1]) - 1).to(device) * KEPT_EDGE_LOGIT
        return {"types": emitted[:, :-1].masked_fill(~valid, 0), "lengths": lengths, "edges": edges,
                "workers": chosen, **self._outcomes(predicted)}

    def numbers(self, tokens: list[list[str]], words: list[list[int]]) -> torch.Tensor:
        """B×T×2: per token, the number its word writes and the size of the enumeration it closes (all 0
        when the config turns the numerals reader off: `model.numerals`)."""
        if not self.config.numerals:
            return torch.zeros(len(tokens), max((len(t) for t in tokens), default=0), 2)
        return torch.tensor([token_numbers(t, w) for t, w in zip(tokens, words)], dtype=torch.float32)

    def cuts(self, examples: list[Example]) -> list[Cut]:
        """What of `examples` this model cannot take whole: instructions longer than its encoder reads,
        workflows longer than it emits (training learns, and evaluation scores, what it could take)."""
        return cuts(examples, self.encoder.token_counts([e.instruction for e in examples]), self.config.max_length,
                    self.config.max_nodes)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """All weights except the frozen pretrained base encoder."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith(FROZEN_PREFIX)}

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        result = self.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith(FROZEN_PREFIX)]
        if missing or result.unexpected_keys:
            raise ValueError(f"checkpoint does not fit the model: missing {missing[:3]}, "
                             f"unexpected {result.unexpected_keys[:3]}")

    def configure_optimizer(self, learning_rate: float, head_learning_rate: float,
                            weight_decay: float) -> torch.optim.AdamW:
        """AdamW: the design's rate for fine-tuned encoder layers, `head_learning_rate` for the
        randomly initialised decomposer, graph and selector. Call it once the model is on its device."""
        heads = [p for name, p in self.named_parameters() if not name.startswith("encoder.")]
        groups = [{"params": heads, "lr": head_learning_rate}]
        tuned = [p for p in self.encoder.top.parameters()]
        if tuned:
            groups.append({"params": tuned, "lr": learning_rate})
        return torch.optim.AdamW(groups, weight_decay=weight_decay, fused=True)  # one kernel for all parameters
