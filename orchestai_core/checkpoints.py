"""Planner checkpoints: what one holds (`Checkpoint`, written by the trainer and read by the `Planner`),
saving and loading it, and finding checkpoint files on disk for the workbench.

Training writes `phase1_best_model.pth` and `last.pth` into its output folder; runs launched from the
workbench use `<paths.checkpoints>/run-<id>/`, so the run a checkpoint belongs to is in its path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BEST, LAST = "phase1_best_model.pth", "last.pth"
RUN_FOLDER = re.compile(r"^run-(\d+)$")
CHECKPOINT_VERSION = 7  # 6: the outcome model's weights and outcome_steps; 7: its success prior


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or not a planner checkpoint."""


@dataclass
class Checkpoint:
    """A trained planner and where its training stood; saved as a dict of these fields (torch.save).

    `model` holds the planning weights (the running average when training kept one; the frozen base
    encoder left out); `training_model`, `average`, `optimizer`, `scaler` and `rng` are for `--resume`
    and only in `last.pth`."""

    model_config: dict           # PlannerConfig
    train_config: dict           # TrainConfig
    types: list[str]             # the type vocabulary, specials first
    workers: list[str]
    model: dict
    catalogue: dict
    stats: dict                  # PlanStats: cost and latency estimates
    epoch: int
    step: int
    best_val_loss: float
    best_epoch: int | None
    history: list[dict]          # per epoch: validation losses and plan metrics
    train_plans: list[dict]      # instruction, types, workers, parents: the nearest-neighbour baseline's plans
    val_ids: list[str]           # the held-out split, for evaluation
    training_model: dict | None = None
    average: dict | None = None
    optimizer: dict | None = None
    scaler: dict | None = None
    rng: Any = None
    elapsed: float = 0.0         # seconds trained, carried across resumes
    outcome_steps: int = 0       # training steps with a logged outcome (0: the outcome model learnt nothing)
    numerals_version: int | None = None  # the numerals reader training read with (model/numerals.py READER_VERSION;
                                         # None: trained without it, or before checkpoints recorded it)
    # Consensus decoding (model/consensus.py): `vectors` (one normalised embedding per train_plans entry),
    # the fitted ConsensusSettings fields and `validation` (metrics of each setting tried); None before fitting.
    consensus: dict | None = None
    version: int = CHECKPOINT_VERSION

    def best_validation(self) -> dict | None:
        """The validation row (losses and plan metrics) of the epoch with the lowest validation loss among
        those that measured plans; None when none did."""
        measured = [row for row in self.history if row.get("node_f1") is not None]
        return min(measured, key=lambda row: row["loss"]) if measured else None


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike) -> None:
    """Write atomically (temporary file, then rename): a reader never sees half a checkpoint."""
    import torch  # finding checkpoint files needs no torch; saving and loading them does

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({f.name: getattr(checkpoint, f.name) for f in fields(checkpoint)}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """A checkpoint from a file; CheckpointError (one line) when it is missing, damaged, not a planner's
    or of another version."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many kinds for a damaged file
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or "model" not in state or "types" not in state:
        raise CheckpointError(f"{path}: not an OrchestAI planner checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: planner checkpoint version {state.get('version')} is not supported "
                              f"(expected {CHECKPOINT_VERSION}); train again")
    known = {f.name for f in fields(Checkpoint)}
    try:
        return Checkpoint(**{k: v for k, v in state.items() if k in known})
    except TypeError:  # a field missing
        raise CheckpointError(f"{path}: not an OrchestAI planner checkpoint") from None


@dataclass(frozen=True)
class CheckpointFile:
    """One checkpoint file and what its name and folder tell about it."""

    path: Path
    kind: str          # best | last | other | bundled (the planner that ships with the project)
    size_bytes: int
    modified: float    # seconds since the epoch
    run_id: int | None

    @property
    def label(self) -> str:
        """A short name for selectors: run, kind and time."""
        if self.kind == "bundled":
            return "default planner (bundled: the default recipe on the bundled corpus)"
        run = f"run {self.run_id}" if self.run_id is not None else self.path.parent.name or "checkpoints"
        when = datetime.fromtimestamp(self.modified, UTC).strftime("%Y-%m-%d %H:%M")
        return f"{run} · {self.kind} · {when} UTC"


def run_folder(root: str | os.PathLike, run_id: int) -> Path:
    """Where a run launched from the workbench writes its checkpoints."""
    return Path(root) / f"run-{run_id}"


def _describe(path: Path) -> CheckpointFile:
    stat = path.stat()
    kind = {BEST: "best", LAST: "last"}.get(path.name, "other")
    match = RUN_FOLDER.match(path.parent.name)
    return CheckpointFile(path, kind, stat.st_size, stat.st_mtime, int(match.group(1)) if match else None)


def bundled_checkpoint(path: str | os.PathLike | None) -> CheckpointFile | None:
    """The planner that ships with the project (`paths.default_planner`), if the file is there."""
    if not path or not Path(path).is_file():
        return None
    stat = Path(path).stat()
    return CheckpointFile(Path(path), "bundled", stat.st_size, stat.st_mtime, None)


def find_checkpoints(root: str | os.PathLike) -> list[CheckpointFile]:
    """Every `.pth` file under `root` (temporary files of a write in progress excluded), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*.pth"):
        try:
            if path.is_file():
                found.append(_describe(path))
        except OSError:  # removed while we looked
            continue
    return sorted(found, key=lambda c: (-c.modified, str(c.path)))


def best_index(checkpoints: Sequence[CheckpointFile]) -> int | None:
    """Index of the newest best-validation checkpoint in a newest-first list, if any."""
    return next((i for i, c in enumerate(checkpoints) if c.kind == "best"), None)


def newest_best(root: str | os.PathLike) -> CheckpointFile | None:
    """The most recently written best-validation checkpoint, if any."""
    found = find_checkpoints(root)
    index = best_index(found)
    return None if index is None else found[index]


def planner_checkpoints(root: str | os.PathLike | None, bundled: str | os.PathLike | None) -> list[CheckpointFile]:
    """Every planner there is to choose from: the checkpoints under `root` (`paths.checkpoints`), newest first,
    then the bundled planner (`paths.default_planner`) if the file is there."""
    found = find_checkpoints(root) if root else []
    shipped = bundled_checkpoint(bundled)
    return found + ([shipped] if shipped else [])


def preferred_index(checkpoints: Sequence[CheckpointFile]) -> int | None:
    """Which of `planner_checkpoints`' list to use when none is named (the Planner page's preselection, the CLI's
    default): the newest best-validation checkpoint, else the bundled planner, else the newest; None for none."""
    index = best_index(checkpoints)
    if index is None:
        index = next((i for i, c in enumerate(checkpoints) if c.kind == "bundled"), None)
    return 0 if index is None and checkpoints else index
