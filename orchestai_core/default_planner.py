"""The planner that ships with the project, so the workbench plans well on first start.

`make planner` trains it by the default recipe on the bundled corpus, then `orchestai bundle-planner`
copies the best checkpoint to `assets/default_planner.pth` and writes beside it what it scores on a
fixed held-out sample (`default_planner.json`): a fresh synthetic corpus of another seed than the
training data. A test loads the file with the current code and checks that it still scores so.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from orchestai_core.evaluate import PLAN_METRICS, evaluate_planner

HELD_OUT_LOGS, HELD_OUT_SEED = 200, 7  # `orchestai synth --n 200 --seed 7`: never seen in training (seed 0)


def quality_path(checkpoint: str | os.PathLike) -> Path:
    """The held-out figures of a bundled planner, beside it: `default_planner.pth` → `default_planner.json`."""
    return Path(checkpoint).with_suffix(".json")


def held_out_sample() -> list:
    """The fixed held-out sample the bundled planner's figures are measured on, as training examples."""
    from orchestai_core.synth import generate_logs
    from orchestai_core.training_data import example_from_log

    return [example_from_log(log) for log in generate_logs(HELD_OUT_LOGS, seed=HELD_OUT_SEED)]


def measure(checkpoint: str | os.PathLike, device: str = "cpu") -> dict:
    """What a planner scores on the held-out sample, next to the nearest-neighbour baseline."""
    from orchestai_core.planner_api import Planner

    result = evaluate_planner(Planner.load(checkpoint, device), held_out_sample())
    return {"data": f"orchestai synth --n {HELD_OUT_LOGS} --seed {HELD_OUT_SEED}", "logs": result["n"],
            "metrics": {k: result[k] for k in PLAN_METRICS},
            "baseline": {k: result["baseline"][k] for k in PLAN_METRICS}}


def read_quality(checkpoint: str | os.PathLike) -> dict | None:
    """The figures written beside a bundled planner, or None when there are none."""
    try:
        return json.loads(quality_path(checkpoint).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def bundle(source: str | os.PathLike, dest: str | os.PathLike, device: str = "cpu") -> dict:
    """Measure the checkpoint `source`, then write it to `dest` and its figures beside it, each atomically."""
    quality = measure(source, device)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, dest)
    target = quality_path(dest)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(quality, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return quality
