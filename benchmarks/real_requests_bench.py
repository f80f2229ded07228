"""The planner against the nearest-neighbour baseline on real requests (UltraTool), by the default recipe.

    python benchmarks/real_requests_bench.py --data ../shared/data/ultratool/train.jsonl.gz

The rows, imported as `orchestai import --format taskbench` does, are shuffled (`--seed`) and split: 80 % to
train on by the default recipe (config.yaml: its own 80/20 split for validation, then the consensus fit),
20 % as a dev set never seen. Prints one JSON line: training wall seconds (and the consensus fit's share),
the fitted consensus, and on the dev set the model alone, the planner as trained (consensus as fitted) and
the nearest-neighbour baseline. `--no-numerals` trains with the numerals reader off (`model.numerals`).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from orchestai_core.config import load_config
from orchestai_core.evaluate import PLAN_METRICS, evaluate_planner
from orchestai_core.planner_api import Planner
from orchestai_core.train import Phase1Trainer, training_settings
from orchestai_core.training_data import load_examples


def figures(result: dict) -> dict:
    return {k: None if result[k] is None else round(result[k], 4) for k in PLAN_METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/ultratool/train.jsonl.gz")
    parser.add_argument("--seed", type=int, default=13, help="shuffle of the rows before the 80/20 split")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-numerals", action="store_true", help="train with the numerals reader off")
    args = parser.parse_args()

    examples = load_examples(args.data, [], fmt="taskbench")  # the rows that import (all 3,027 of the shared file)
    random.Random(args.seed).shuffle(examples)
    cut = int(len(examples) * 0.8)
    train, dev = examples[:cut], examples[cut:]
    train_cfg, model_cfg = training_settings(load_config())
    model_cfg = replace(model_cfg, numerals=not args.no_numerals)
    out = Path(tempfile.mkdtemp(prefix="real-requests-"))
    began = time.perf_counter()
    trainer = Phase1Trainer(train_cfg, model_cfg, out, args.device, progress=False)
    trainer.setup(train)
    summary = trainer.train()
    wall = time.perf_counter() - began
    best = out / "phase1_best_model.pth"
    alone = evaluate_planner(Planner.load(best, args.device, consensus=False), dev)
    kept = evaluate_planner(Planner.load(best, args.device), dev)
    print(json.dumps({
        "data": args.data, "seed": args.seed, "numerals": model_cfg.numerals, "checkpoint": str(best),
        "train_logs": len(train), "dev_logs": len(dev),
        "training_wall_s": round(wall, 1), "training_loop_s": summary["seconds"], "best_epoch": summary["best_epoch"],
        "consensus": summary.get("consensus"),
        "model_alone": figures(alone), "planner": figures(kept), "nearest_neighbour": figures(kept["baseline"]),
    }))


if __name__ == "__main__":
    main()
