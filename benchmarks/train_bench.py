"""Phase-1 training speed on this machine, on both datasets issue 13 names: the bundled corpus and the real
UltraTool requests; per dataset the default config (frozen encoder) and, on request, the encoder cut to its
bottom 3 layers and full fine-tuning.

    python benchmarks/train_bench.py --epochs 2
    python benchmarks/train_bench.py --logs 1000 --real "" --variants default,layers3,full

Trains each variant for a few epochs (validation included, as every epoch of a run) and prints one JSON
line with, per dataset and variant, setup seconds (encoder load + token-state cache), seconds per epoch
(median), what validating costs of it (`validate_s`: the median of three more validations after the last
epoch), examples/s, and the projected wall time of the configured number of epochs (setup + epochs ×
seconds per epoch; the consensus fit at the end of a run is not included). `--logs N` takes the first N of
the bundled logs (default: all of them); `--real FILE` the TaskBench rows to time (default: the shared
UltraTool file when it is there; "" to skip).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from orchestai_core.config import REPO_ROOT, load_config
from orchestai_core.model.planner import PlannerConfig
from orchestai_core.train import Phase1Trainer, TrainConfig, training_settings
from orchestai_core.training_data import load_examples

BUNDLED = REPO_ROOT / "assets" / "default_logs.jsonl.gz"
REAL = REPO_ROOT.parent / "shared" / "data" / "ultratool" / "train.jsonl.gz"


def measure(examples, train_cfg: TrainConfig, model_cfg: PlannerConfig, epochs: int) -> dict:
    start = time.perf_counter()
    trainer = Phase1Trainer(TrainConfig(**{**train_cfg.__dict__, "num_epochs": epochs}), model_cfg,
                            tempfile.mkdtemp(), "cpu", progress=False)
    trainer.setup(examples)
    setup_s = time.perf_counter() - start
    per_epoch = []
    for epoch in range(epochs):
        trainer.cfg.num_epochs = epoch + 1
        began = time.perf_counter()
        trainer.train(fit_consensus=False)
        per_epoch.append(time.perf_counter() - began)
    epoch_s = statistics.median(per_epoch)
    validations = []
    for _ in range(3):  # what validating costs of an epoch (the loss and the greedy plans), on the trained weights
        began = time.perf_counter()
        with trainer.averaged():
            trainer.validate()
        validations.append(time.perf_counter() - began)
    return {"setup_s": round(setup_s, 1), "epoch_s": round(epoch_s, 2),
            "validate_s": round(statistics.median(validations), 2),
            "examples_per_s": round(len(trainer.train_items) / epoch_s, 1),
            "projected_total_s": round(setup_s + train_cfg.num_epochs * epoch_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, help="the first N bundled logs (default: all)")
    parser.add_argument("--real", default=str(REAL) if REAL.exists() else "",
                        help="TaskBench rows to time too (default: the shared UltraTool file; '' to skip)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs actually run per variant")
    parser.add_argument("--variants", default="default", help="comma-separated: default, layers3, full")
    args = parser.parse_args()
    config = load_config()
    train_cfg, model_cfg = training_settings(config)
    variants = {"default": model_cfg, "layers3": replace(model_cfg, layers=3),
                "full": replace(model_cfg, finetune_layers=6)}
    bundled = load_examples(BUNDLED, [])  # invalid lines are skipped (the bundled and shared files have none)
    datasets = {"bundled": bundled[:args.logs] if args.logs else bundled}
    if args.real:
        datasets["ultratool"] = load_examples(Path(args.real), [], fmt="taskbench")
    result = {"configured_epochs": train_cfg.num_epochs, "datasets": {}}
    for dataset, examples in datasets.items():
        row = result["datasets"][dataset] = {"logs": len(examples)}
        for name in args.variants.split(","):
            row[name] = measure(examples, train_cfg, variants[name], args.epochs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
