"""Helpers shared by the planner tests: a tiny BERT encoder on disk and tiny training configs.

The tiny encoder (random weights, MiniLM's tokenizer) keeps training tests fast where the pretrained
weights are not the point; tests of the encoder itself load the real packaged MiniLM.
"""

from pathlib import Path

import torch

from orchestai_core.model.planner import PlannerConfig
from orchestai_core.train import TrainConfig

TINY_MODEL = {"hidden": 32, "type_embedding": 16, "gnn_rounds": 1, "gnn_heads": 2, "max_nodes": 48, "dropout": 0.0}


def make_tiny_encoder(folder: Path) -> str:
    """Save a 2-layer, 32-wide BERT with MiniLM's tokenizer to `folder`; return its path."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from orchestai_core.model.encoder import DEFAULT_ENCODER, resolve_encoder_path

    if not (folder / "config.json").exists():
        torch.manual_seed(0)
        config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=512)
        BertModel(config).save_pretrained(folder)
        AutoTokenizer.from_pretrained(resolve_encoder_path(DEFAULT_ENCODER)).save_pretrained(folder)
    return str(folder)


def tiny_model_config(encoder: str, **changes) -> PlannerConfig:
    return PlannerConfig(encoder=encoder, max_length=64, **{**TINY_MODEL, **changes})


def tiny_train_config(**changes) -> TrainConfig:
    base = {"num_epochs": 3, "batch_size": 8, "head_learning_rate": 5e-3, "log_every": 1, "val_metrics_max": 8,
            "encode_precision": "float32"}  # the same states on every machine (auto depends on the CPU)
    return TrainConfig(**{**base, **changes})


def write_workbench_config(folder: Path, encoder: str, epochs: int = 2) -> Path:
    """A config.yaml for a workbench under test: its paths inside `folder`, the tiny model, a short
    training. Point ORCHESTAI_CONFIG at it."""
    import yaml

    from orchestai_core.config import load_config

    config = load_config()  # the project's own, paths made absolute (corpus and catalogue stay shared)
    config.pop("_config_path")
    config["paths"].update(database=str(folder / "workbench.db"), checkpoints=str(folder / "checkpoints"),
                           runs=str(folder / "runs"), token_cache=str(folder / "token-cache"),
                           # no bundled planner unless a test puts one there
                           default_planner=str(folder / "bundled" / "default_planner.pth"))
    config["training"]["phase1_supervised"].update(num_epochs=epochs, batch_size=8, head_learning_rate=5e-3,
                                                   val_metrics_max=8, log_every=1, encode_precision="float32")
    config["encoder"].update(encoder=encoder, max_length=64)
    config["model"].update(TINY_MODEL)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def train_tiny_checkpoint(out_dir: Path, encoder: str, n_logs: int = 48, epochs: int = 3, seed: int = 11) -> Path:
    """Train the tiny planner on synthetic logs into `out_dir`; return its best checkpoint."""
    from orchestai_core.synth import generate_logs
    from orchestai_core.train import Phase1Trainer
    from orchestai_core.training_data import example_from_log

    examples = [example_from_log(log) for log in generate_logs(n_logs, seed=seed)]
    trainer = Phase1Trainer(tiny_train_config(num_epochs=epochs), tiny_model_config(encoder), out_dir, "cpu",
                            progress=False)
    trainer.setup(examples)
    trainer.train()
    return out_dir / "phase1_best_model.pth"


def cached_items(planner, texts: list[str]) -> list:
    """What the trainer caches of each instruction (`Encoded`): its frozen states and numbers, unpadded."""
    from orchestai_core.model.batching import Encoded

    items = []
    for text in texts:
        batch, tokens, words = planner.encoder.tokenize_words([text])
        items.append(Encoded(planner.encoder.frozen_states(**batch)[0], planner.model.numbers(tokens, words)[0],
                             [], [], []))
    return items


def wait_for(predicate, timeout: float = 180.0, what: str = "condition"):
    """Poll `predicate` until it returns something true (returned) or fail after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def kill_active_runs(store) -> None:
    """Never leave a training process behind a test: SIGKILL the group of every active run."""
    import os
    import signal

    from workbench.services.processes import is_training_alive

    for run in store.runs.active():
        if run["pid"] and is_training_alive(run["pid"]):
            os.killpg(run["pid"], signal.SIGKILL)
