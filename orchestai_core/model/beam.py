"""The decoding beam width: one bound and one check for the config, the Python API and the CLI.
Free of torch, so the command line can use it without loading the model."""

from __future__ import annotations

MAX_BEAM = 32  # the widest beam accepted anywhere


def check_beam(beam, name: str = "beam") -> int:
    """A decoding width, or ValueError saying what is wrong with it (`name` says where it came from)."""
    if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= MAX_BEAM:
        raise ValueError(f"{name} must be a whole number from 1 (greedy) to {MAX_BEAM}, got {beam!r}")
    return beam
