"""Finding planner checkpoints on disk: what the workbench offers to plan and evaluate with.

Training writes `phase1_best_model.pth` and `last.pth` into its output folder; runs launched from the
workbench use `<paths.checkpoints>/run-<id>/`, so the run a checkpoint belongs to is in its path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

BEST, LAST = "phase1_best_model.pth", "last.pth"
RUN_FOLDER = re.compile(r"^run-(\d+)$")


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
        when = datetime.fromtimestamp(self.modified, timezone.utc).strftime("%Y-%m-%d %H:%M")
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
