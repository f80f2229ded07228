"""The planner model: decomposer, workflow graph and selector over the encoder's token states."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from orchestai_core.model.decomposer import TaskDecomposer
from orchestai_core.model.encoder import DEFAULT_ENCODER
from orchestai_core.model.graph import WorkflowGraph
from orchestai_core.model.selector import WorkerSelector
from orchestai_core.model.vocab import BOS, EOS, Vocab


@dataclass
class PlannerConfig:
    """Model shape; every default is also written in config.yaml under `model:` and `encoder:`."""

    encoder: str = DEFAULT_ENCODER
    finetune_layers: int = 0
    max_length: int = 128
    hidden: int = 256
    type_embedding: int = 128
    gnn_rounds: int = 3
    gnn_heads: int = 4
    max_nodes: int = 64
    dropout: float = 0.1

    @classmethod
    def from_dict(cls, data: dict) -> "PlannerConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)


class PlannerModel(nn.Module):
    def __init__(self, config: PlannerConfig, types: Vocab, workers: Vocab, enc_dim: int):
        super().__init__()
        self.config, self.types, self.workers = config, types, workers
        h = config.hidden
        self.decomposer = TaskDecomposer(len(types), enc_dim, h, config.type_embedding, config.max_nodes, config.dropout)
        self.graph = WorkflowGraph(h, config.gnn_rounds, config.gnn_heads, config.max_nodes, config.dropout)
        self.selector = WorkerSelector(h, len(workers), config.dropout)

    def forward(self, tokens: torch.Tensor, token_mask: torch.Tensor, prev: torch.Tensor, emitted: torch.Tensor,
                node_valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forced logits: types (B×S×V), workers (B×N×W), edges (B×N×N), with N = S − 1."""
        keys, pooled = self.decomposer.encode(tokens, token_mask)
        type_logits, nodes = self.decomposer(keys, pooled, token_mask, prev, emitted)
        nodes = nodes[:, :-1]  # the last step emits END, not a node
        edge_logits, states = self.graph(nodes, node_valid)
        return type_logits, self.selector(states, pooled), edge_logits

    @torch.no_grad()
    def generate(self, tokens: torch.Tensor, token_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Greedy plans: type ids (B×N), lengths, edge logits (B×N×N) and worker logits (B×N×W)."""
        keys, pooled = self.decomposer.encode(tokens, token_mask)
        type_ids, nodes, lengths = self.decomposer.generate(
            keys, pooled, token_mask, self.types[BOS], self.types[EOS], self.config.max_nodes)
        valid = torch.arange(type_ids.shape[1], device=tokens.device).unsqueeze(0) < lengths.unsqueeze(1)
        if type_ids.shape[1] == 0:
            empty = tokens.new_zeros(tokens.shape[0], 0, 0)
            return {"types": type_ids, "lengths": lengths, "edges": empty,
                    "workers": tokens.new_zeros(tokens.shape[0], 0, len(self.workers))}
        edge_logits, states = self.graph(nodes, valid)
        return {"types": type_ids, "lengths": lengths, "edges": edge_logits,
                "workers": self.selector(states, pooled)}
