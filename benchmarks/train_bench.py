"""Phase-1 training speed on this machine: the default config (frozen encoder), the encoder cut to its
bottom 3 layers, and full fine-tuning.

    python benchmarks/train_bench.py --logs 1000 --epochs 2

Trains each variant for a few epochs on a synthetic corpus and prints one JSON line with, per variant,
setup seconds (encoder load + token-state cache), seconds per epoch (median), examples/s, and the
projected wall time of the configured number of epochs (setup + epochs × seconds per epoch).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace

from orchestai_core.config import load_config
from orchestai_core.model.planner import PlannerConfig
from orchestai_core.synth import generate_logs
from orchestai_core.train import Phase1Trainer, TrainConfig, training_settings
from orchestai_core.training_data import example_from_log


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
    return {"setup_s": round(setup_s, 1), "epoch_s": round(epoch_s, 2),
            "examples_per_s": round(len(trainer.train_items) / epoch_s, 1),
            "projected_total_s": round(setup_s + train_cfg.num_epochs * epoch_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2, help="epochs actually run per variant")
    parser.add_argument("--variants", default="default,layers3,full")
    args = parser.parse_args()
    config = load_config()
    train_cfg, model_cfg = training_settings(config)
    variants = {"default": model_cfg, "layers3": replace(model_cfg, layers=3),
                "full": replace(model_cfg, finetune_layers=6)}
    examples = [example_from_log(log) for log in generate_logs(args.logs, seed=0)]
    result = {"logs": args.logs, "configured_epochs": train_cfg.num_epochs}
    for name in args.variants.split(","):
        result[name] = measure(examples, train_cfg, variants[name], args.epochs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
