"""Vocabularies of sub-task types and workers, built from the training data and kept in checkpoints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
TYPE_SPECIALS = (PAD, BOS, EOS, UNK)  # UNK stands in for a type unseen in training; it is never emitted


@dataclass
class Vocab:
    items: list[str]

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.items)}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, word: str) -> int:
        return self.index[word]

    def get(self, word: str | None, default: int = -100) -> int:
        return self.index.get(word, default) if word is not None else default

    @classmethod
    def build(cls, words: Iterable[str], specials: tuple[str, ...] = ()) -> Vocab:
        """Specials first, then words by falling frequency (ties alphabetical)."""
        counts = Counter(w for w in words if w not in specials)
        return cls([*specials, *sorted(counts, key=lambda w: (-counts[w], w))])


def name_matrix(names: Mapping[str, torch.Tensor], types: Sequence[str], width: int) -> torch.Tensor:
    """The name vectors of `types` (`names`: each type's, as `consensus_fit.name_vectors` reads them), stacked in
    their order: len(types)×`width`, float32 on the CPU. What the type-presence classifier and the step order read
    of the types; a type without a name vector is an error."""
    missing = [t for t in types if t not in names]
    if missing:
        raise ValueError(f"no name vector for the type(s) {', '.join(missing[:3])}")
    if not types:
        return torch.zeros(0, width)
    return torch.stack([names[t].detach().to("cpu", torch.float32) for t in types])
