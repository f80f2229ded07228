"""The frozen encoder's token states, kept on disk between training runs.

Training runs the frozen encoder once over its logs (`Phase1Trainer._encode`): on this project's 2-core CPU
about 45 s for the 3,027 UltraTool requests, and proportionally more on larger logs. A user retrains on mostly
the same logs (another setting, a few more curated logs, a resumed run), so the states are kept, one file per
instruction, under a key made of the instruction's text and of everything that shapes its states: the frozen
encoder's exact weights and tokenizer (`encoder_fingerprint`), how many of its top layers are trained, its
`max_length`, and the precision and device kind of the pass. A later run reads what it finds and encodes the
rest.

Entries are float32 as computed, so a run that finds every state trains on the very numbers of the run that
computed them. Writes are atomic (a temporary file renamed into place): runs sharing the folder never read half
an entry. An entry that cannot be read, or whose shape is not the one the instruction tokenizes to, counts as
missing: it is encoded again and rewritten. Past `max_bytes`, the entries read or written longest ago are
deleted (`trim`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from orchestai_core.config import ConfigError

ENV = "ORCHESTAI_TOKEN_CACHE"  # overrides the folder of config `paths.token_cache`
SUFFIX = ".npy"
FORMAT = "token-states-1"  # in every key: entries of another layout are never read as these


def encoder_fingerprint(encoder, dtype: torch.dtype, device_type: str) -> str:
    """A digest of what shapes an instruction's frozen token states: the encoder's weights and buffers (except the
    top layers training changes), its tokenizer, `finetune_layers`, `max_length`, and the pass's precision and
    device kind. Two encoders with one fingerprint give the same states to the same text."""
    digest = hashlib.sha256(f"{FORMAT}|{type(encoder.model).__name__}|{encoder.finetune_layers}|"
                            f"{encoder.max_length}|{dtype}|{device_type}".encode())
    trained = {id(p) for p in encoder.top.parameters()}
    named = [*encoder.model.named_parameters(), *encoder.model.named_buffers()]
    for name, tensor in sorted(named, key=lambda item: item[0]):
        if id(tensor) in trained:
            continue
        data = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tuple(data.shape)}|{data.dtype}".encode())
        digest.update(data.view(torch.uint8).numpy() if data.numel() else b"")
    digest.update(_tokenizer_description(encoder.tokenizer).encode())
    return digest.hexdigest()


def _tokenizer_description(tokenizer) -> str:
    """Everything that decides how the tokenizer splits text: a fast tokenizer's definition (normalizer,
    pre-tokenizer, model and vocabulary; not the truncation and padding its last call left set, which `tokenize`
    sets on every call), else its class, vocabulary and settings."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        definition = json.loads(backend.to_str())
        definition.pop("truncation", None)
        definition.pop("padding", None)
        return json.dumps(definition, sort_keys=True)
    vocab = sorted(tokenizer.get_vocab().items())
    return f"{type(tokenizer).__name__}|{vocab}|{sorted(map(str, tokenizer.init_kwargs.items()))}"


@dataclass(frozen=True)
class TokenCache:
    """Token states on disk under `folder`, at most `max_bytes` of them."""

    folder: Path
    max_bytes: int

    @classmethod
    def from_config(cls, config: dict) -> TokenCache | None:
        """The cache config.yaml sets (its folder: env ORCHESTAI_TOKEN_CACHE, else `paths.token_cache`; its size:
        `token_cache.max_gb`), or None when `max_gb` is 0 or no folder is named (a config from before the cache)."""
        section = config.get("token_cache") or {}
        if not isinstance(section, dict):
            raise ConfigError("token_cache must be a mapping (max_gb: …)")
        max_gb = section.get("max_gb", 2.0)
        if isinstance(max_gb, bool) or not isinstance(max_gb, (int, float)) or not 0 <= max_gb < math.inf:
            raise ConfigError(f"token_cache.max_gb must be a number ≥ 0 (0 = no cache), got {max_gb!r}")
        if not max_gb:
            return None
        folder = os.environ.get(ENV) or (config.get("paths") or {}).get("token_cache")
        return cls(Path(folder), int(max_gb * 2**30)) if folder else None

    def key(self, fingerprint: str, text: str) -> str:
        """The entry of `text`'s states under an encoder's `encoder_fingerprint`."""
        return hashlib.sha256(f"{fingerprint}\n{text}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{SUFFIX}"

    def load(self, key: str, tokens: int, width: int) -> torch.Tensor | None:
        """The states (tokens × width, float32) kept under `key`, or None: not there, unreadable or of another
        shape. A hit counts as a use (the file's time is renewed, so `trim` keeps it longer)."""
        path = self._path(key)
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if array.dtype != np.float32 or array.shape != (tokens, width):
            return None
        try:
            os.utime(path)
        except OSError:
            pass
        return torch.from_numpy(array)

    def save(self, key: str, states: torch.Tensor) -> int:
        """Keep `states` (tokens × width) under `key`, atomically; the bytes written (0 when the folder cannot be
        written: training goes on without the cache)."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)
            try:
                with os.fdopen(handle, "wb") as out:
                    np.save(out, states.detach().cpu().float().contiguous().numpy(), allow_pickle=False)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            return path.stat().st_size
        except OSError:
            return 0

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(last use, size, path) of every entry; not another run's write in progress, nor anything else the
        folder holds."""
        entries = []
        for path in self.folder.glob(f"??/*{SUFFIX}"):
            if path.name.startswith("."):  # another run's write in progress
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        return entries

    def usage(self) -> dict:
        """How much the cache holds: its folder, entries, bytes, and the most it keeps (bytes)."""
        entries = self._entries()
        return {"folder": str(self.folder), "entries": len(entries), "bytes": sum(size for _, size, _ in entries),
                "max_bytes": self.max_bytes}

    def trim(self) -> int:
        """Delete the entries used longest ago until the cache holds at most `max_bytes`; returns bytes freed."""
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        freed = 0
        for _, size, path in sorted(entries, key=lambda entry: entry[0]):
            if total - freed <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            freed += size
        return freed

    def clear(self) -> dict:
        """Delete every entry (nothing else in the folder); what was deleted: entries and bytes. A run that was
        reading them encodes what it no longer finds."""
        entries = self._entries()
        for _, _, path in entries:
            path.unlink(missing_ok=True)
        return {"entries": len(entries), "bytes": sum(size for _, size, _ in entries)}
