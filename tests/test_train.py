"""Phase-1 training end to end on a tiny model: loss goes down, runs and metrics reach the store,
checkpoints reload to the same plans, SIGTERM stops cleanly and --resume continues."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from orchestai_core.cli import main
from orchestai_core.export import write_jsonl
from orchestai_core.model.batching import collate
from orchestai_core.model.planner import PlannerConfig
from orchestai_core.planner_api import Planner
from orchestai_core.store import Store
from orchestai_core.synth import generate_logs
from orchestai_core.train import Phase1Trainer, TrainConfig
from orchestai_core.training_data import example_from_log

TINY_MODEL = {"hidden": 48, "type_embedding": 24, "gnn_rounds": 1, "gnn_heads": 2, "max_nodes": 40, "dropout": 0.0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    examples = [example_from_log(log) for log in generate_logs(48, seed=11)]
    store = Store.open(folder / "runs.db")
    run_id = store.runs.create({"tiny": True})
    trainer = Phase1Trainer(TrainConfig(num_epochs=4, batch_size=8, head_learning_rate=5e-3, log_every=1,
                                        val_metrics_max=8), PlannerConfig(**TINY_MODEL), folder / "ck", "cpu",
                            store, run_id, progress=False)
    trainer.setup(examples)
    summary = trainer.train()
    return folder, store, run_id, summary, trainer


def test_training_lowers_the_loss_and_records_the_run(trained):
    folder, store, run_id, summary, trainer = trained
    history = trainer.history
    assert summary["status"] == "completed" and summary["epochs"] == 4 and not summary["stopped_early"]
    assert history[-1]["loss"] < history[0]["loss"]
    run = store.runs.get(run_id)
    assert run["status"] == "completed" and run["epoch"] == 4 and run["best_val_loss"] == summary["best_val_loss"]
    assert run["warnings"] is None and summary["cut"] == {"instructions": 0, "workflows": 0}  # the data fits
    rows = store.runs.metrics(run_id)
    assert {r["split"] for r in rows} == {"train", "val"}
    assert {"loss", "types", "workers", "edges", "dag"} <= {r["name"] for r in rows if r["split"] == "train"}
    assert {"node_f1", "edge_f1", "dag_validity", "worker_accuracy"} <= {r["name"] for r in rows if r["split"] == "val"}
    assert (folder / "ck" / "phase1_best_model.pth").exists() and (folder / "ck" / "last.pth").exists()
    assert not list((folder / "ck").glob("*.tmp"))


def test_a_checkpoint_holds_no_copy_of_the_frozen_encoder(trained):
    import torch

    state = torch.load(trained[0] / "ck" / "last.pth", weights_only=False)
    assert state["model"] and not any(k.startswith("encoder.") for k in state["model"])


def test_save_then_load_gives_identical_plans(trained):
    path = trained[0] / "ck" / "phase1_best_model.pth"
    texts = ["Translate the user manual into French and German", "Fix the crash on empty uploads",
             "Compare three vendors for our CRM migration and email the result to Maria"]
    first, second = Planner.load(path, "cpu"), Planner.load(path, "cpu")
    a, b = first.plan_batch(texts), second.plan_batch(texts)
    for plan in a:
        plan["meta"].pop("planning_ms")
    for plan in b:
        plan["meta"].pop("planning_ms")
    assert a == b
    for plan in a:
        assert plan["subtasks"] and set(plan) >= {"id", "instruction", "subtasks", "est_cost_usd", "est_latency_ms",
                                                  "critical_path"}
        for s in plan["subtasks"]:
            assert set(s) >= {"id", "type", "worker", "depends_on", "worker_probs"}


def test_checkpoints_hold_the_averaged_weights_and_last_also_the_raw_ones_to_resume_from(trained):
    import torch

    trainer = trained[4]
    last = torch.load(trained[0] / "ck" / "last.pth", weights_only=False)
    best = torch.load(trained[0] / "ck" / "phase1_best_model.pth", weights_only=False)
    raw = trainer.model.trainable_state_dict()
    assert all(torch.equal(last["training_model"][k], v) for k, v in raw.items())
    with trainer.averaged():
        averaged = {k: v.clone() for k, v in trainer.model.trainable_state_dict().items()}
        assert all(torch.equal(last["model"][k], v) for k, v in averaged.items())
    assert any(not torch.equal(averaged[k], raw[k]) for k in raw)
    assert last["average"]["updates"] == trainer.step
    assert best["training_model"] is None and best["average"] is None  # planning needs only the average


def test_a_plan_says_when_its_instruction_was_truncated(trained):
    planner = Planner.load(trained[0] / "ck" / "phase1_best_model.pth", "cpu")
    long = "Translate the user manual into French, then email it to Maria. " * 12  # about 170 tokens
    exact = "word " * 126  # 128 tokens with [CLS] and [SEP]: all of it is read
    short, cut, whole = planner.plan_batch(["Fix the crash on empty uploads", long, exact])
    assert short["meta"]["truncated"] is False and cut["meta"]["truncated"] is True
    assert whole["meta"]["truncated"] is False
    assert planner.encoder.token_counts([long, exact]) == [planner.encoder.token_counts([long])[0], 128]
    assert planner.encoder.token_counts([long])[0] > planner.config.max_length == 128


def test_setup_warns_of_instructions_and_workflows_too_long_for_the_model(tmp_path, capsys):
    examples = [example_from_log(log) for log in generate_logs(16, seed=5)]
    examples[3].instruction = "Please, " * 150 + examples[3].instruction
    store = Store.open(tmp_path / "runs.db")
    run_id = store.runs.create({"tiny": True})
    trainer = Phase1Trainer(TrainConfig(num_epochs=1, batch_size=8, val_metrics_max=2),
                            PlannerConfig(**{**TINY_MODEL, "max_nodes": 8}), tmp_path / "ck", "cpu", store, run_id,
                            progress=False)
    trainer.setup(examples)
    long_workflows = [e.id for e in examples if len(e.types) > 8]
    assert long_workflows and len(long_workflows) < len(examples)
    warnings = store.runs.get(run_id)["warnings"]
    assert warnings[0].startswith("1 of 16 instructions are longer than the encoder reads (128 tokens") and \
        warnings[0].endswith(examples[3].id)
    assert warnings[1].startswith(f"{len(long_workflows)} of 16 workflows have more than 8 sub-tasks (model.max_nodes)")
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")] == [
        f"warning: {w}" for w in warnings]
    assert trainer.train()["cut"] == {"instructions": 1, "workflows": len(long_workflows)}
    store.close()


def test_empty_instruction_is_refused(trained):
    planner = Planner.load(trained[0] / "ck" / "phase1_best_model.pth", "cpu")
    with pytest.raises(ValueError, match="instruction is empty"):
        planner.plan("   ")


def test_cli_errors_are_one_line_and_exit_1(trained, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["plan", "--checkpoint", str(tmp_path / "nope.pth"), "hello"])
    corrupt_path = tmp_path / "corrupt.pth"
    corrupt_path.write_bytes(b"not a checkpoint")
    corrupt = runner.invoke(main, ["plan", "--checkpoint", str(corrupt_path), "hello"])
    empty = runner.invoke(main, ["plan", "--checkpoint", str(trained[0] / "ck" / "last.pth"), "  "])
    for result, text in ((missing, "no such checkpoint"), (corrupt, "not a readable checkpoint"),
                         (empty, "instruction is empty")):
        assert result.exit_code == 1, result.output
        assert text in result.output and "Traceback" not in result.output


def tiny_config(tmp_path, epochs):
    config = yaml.safe_load(open("config.yaml"))
    config["training"]["phase1_supervised"].update(num_epochs=epochs, batch_size=8, head_learning_rate=5e-3,
                                                   val_metrics_max=4)
    config["model"] = TINY_MODEL
    config["paths"] = {"database": str(tmp_path / "db.sqlite"), "checkpoints": str(tmp_path / "ck")}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_sigterm_saves_last_and_resume_continues_at_the_next_epoch(tmp_path):
    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(64, seed=3), data)
    config = tiny_config(tmp_path, epochs=200)
    command = [sys.executable, "-m", "orchestai_core", "train", "--config", str(config), "--data", str(data),
               "--quiet"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = Store.open(tmp_path / "db.sqlite")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        runs = store.runs.list()
        if runs and (runs[0]["epoch"] or 0) >= 1:
            break
        time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["status"] == "stopped"
    stopped_at = summary["epochs"]
    assert stopped_at >= 1 and (tmp_path / "ck" / "last.pth").exists()
    assert store.runs.get(summary["run_id"])["status"] == "stopped"
    assert "epoch 1/200 · step" in err and "stopped after" in err
    wall_before = max(r["wall_time"] for r in store.runs.metrics(summary["run_id"]))

    resumed = subprocess.run([*command[:-1], "--resume", "--epochs", str(stopped_at + 1), "--quiet"],
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed" and result["epochs"] == stopped_at + 1
    assert f"resuming after epoch {stopped_at}" in resumed.stderr
    resumed_rows = [r for r in store.runs.metrics(result["run_id"])
                    if r["epoch"] == stopped_at + 1 and r["split"] == "val"]
    assert resumed_rows and min(r["wall_time"] for r in resumed_rows) > wall_before  # time carries over
    import torch

    assert len(torch.load(tmp_path / "ck" / "last.pth", weights_only=False)["history"]) == stopped_at + 1


def test_patience_ends_training_once_the_validation_loss_stops_improving(tmp_path):
    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(24, seed=3), data)
    config = tiny_config(tmp_path, epochs=10)
    settings = yaml.safe_load(config.read_text())
    settings["training"]["phase1_supervised"].update(learning_rate=0.0, head_learning_rate=0.0)  # epoch 1 stays best
    config.write_text(yaml.safe_dump(settings))
    result = CliRunner().invoke(main, ["train", "--config", str(config), "--data", str(data), "--patience", "2",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["status"], summary["epochs"], summary["best_epoch"], summary["stopped_early"]) == (
        "completed", 3, 1, True)
    assert "no better validation loss for 2 epochs: stopping early" in result.output
    run = Store.open(tmp_path / "db.sqlite").runs.get(summary["run_id"])
    assert (run["status"], run["epoch"], run["total_epochs"]) == ("completed", 3, 10)


def test_patience_must_be_a_whole_number_of_epochs_or_zero():
    assert TrainConfig.from_dict({"patience": 3}).patience == 3
    with pytest.raises(ValueError, match="patience must be 0 \\(off\\) or a number of epochs, got -1"):
        TrainConfig.from_dict({"patience": -1})


def test_fine_tuning_the_top_encoder_layer_changes_it_and_the_checkpoint_keeps_only_that_layer(tmp_path):
    import torch

    examples = [example_from_log(log) for log in generate_logs(16, seed=5)]
    trainer = Phase1Trainer(TrainConfig(num_epochs=1, batch_size=8, val_metrics_max=2),
                            PlannerConfig(**{**TINY_MODEL, "finetune_layers": 1}), tmp_path, "cpu", progress=False)
    trainer.setup(examples)
    encoder = trainer.model.encoder
    assert list(encoder.top) == [encoder.model.encoder.layer[-1]]  # the top layer of six
    before = {k: v.clone() for k, v in encoder.trainable_state().items()}
    trainer.train()
    after = encoder.trainable_state()
    assert before and set(before) == set(after) and all(k.startswith("top.0.") for k in after)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    saved = torch.load(tmp_path / "last.pth", weights_only=False)["model"]
    assert {k for k in saved if k.startswith("encoder.")} == {f"encoder.{k}" for k in after}
    assert not any(k.startswith("encoder.model.") for k in saved)


def test_learning_rates_warm_up_then_decay_to_their_floor(tmp_path):
    trainer = Phase1Trainer(TrainConfig(num_epochs=4, warmup_steps=10, min_lr_ratio=0.1), PlannerConfig(**TINY_MODEL),
                            tmp_path, "cpu", progress=False)
    trainer.steps_per_epoch = 25  # 100 steps in all
    factors = [trainer.lr_factor(step) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a <= b for a, b in zip(factors[:10], factors[1:10]))
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))
    assert factors[-1] == pytest.approx(0.1, abs=0.01) and trainer.lr_factor(100) == pytest.approx(0.1)


def test_validation_loss_has_no_label_smoothing(trained):
    trainer = trained[4]
    trainer.cfg.worker_smoothing = trainer.cfg.type_smoothing = 0.2
    try:
        batch = collate(trainer.val_items, trainer.types)
        trainer.model.eval()
        plain, smoothed = trainer._batch_loss(batch), trainer._batch_loss(batch, training=True)
    finally:
        trainer.cfg.worker_smoothing = TrainConfig.worker_smoothing
        trainer.cfg.type_smoothing = TrainConfig.type_smoothing
    assert smoothed["workers"].item() > plain["workers"].item()
    assert trainer.validate()["workers"] == pytest.approx(plain["workers"].item(), rel=1e-4)


def test_validation_figures_do_not_depend_on_how_validation_is_batched(trained, monkeypatch):
    import orchestai_core.train as train_module

    trainer = trained[4]
    trainer.model.eval()
    with torch.no_grad():
        whole = trainer._batch_loss(collate(trainer.val_items, trainer.types))  # one batch of every validation log
    monkeypatch.setattr(train_module, "VAL_BATCH", 10_000)
    one = trainer.validate()
    monkeypatch.setattr(train_module, "VAL_BATCH", 3)
    assert len(trainer._val_batches(trainer.val_items, lambda item: len(item.types))) > 2
    small = trainer.validate()
    assert small == pytest.approx(one, rel=1e-5)
    assert {k: small[k] for k in whole} == pytest.approx({k: v.item() for k, v in whole.items()}, rel=1e-5)


def test_two_cpu_processes_under_torchrun_train_once_and_record_one_run(tmp_path, tiny_encoder):
    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(48, seed=4), data)
    config = yaml.safe_load(tiny_config(tmp_path, epochs=3).read_text())
    config["encoder"].update(encoder=tiny_encoder, max_length=64)
    # no learning: epoch 1 stays the best, so --patience 1 ends the run after epoch 2 on both ranks at once
    config["training"]["phase1_supervised"].update(learning_rate=0.0, head_learning_rate=0.0)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "orchestai_core", "train", "--config", str(tmp_path / "config.yaml"),
                             "--data", str(data), "--device", "cpu", "--patience", "1", "--quiet"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    summaries = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 1  # only the main process prints
    summary = summaries[0]
    assert summary["status"] == "completed" and summary["processes"] == 2 and summary["epochs"] == 2
    assert summary["stopped_early"] and summary["best_epoch"] == 1
    assert (tmp_path / "ck" / "phase1_best_model.pth").exists() and (tmp_path / "ck" / "last.pth").exists()
    store = Store.open(tmp_path / "db.sqlite")
    runs = store.runs.list()
    assert len(runs) == 1 and runs[0]["status"] == "completed" and runs[0]["epoch"] == 2
    assert {r["epoch"] for r in store.runs.metrics(runs[0]["id"]) if r["split"] == "val"} == {1, 2}
    assert Planner.load(tmp_path / "ck" / "phase1_best_model.pth", "cpu").plan("Translate the memo into French")


def _data_with_bad_lines(tmp_path, n=24):
    """n synthetic logs with two invalid lines among them (lines 3 and 10)."""
    lines = [json.dumps(log) for log in generate_logs(n, seed=3)]
    lines.insert(2, "{broken")
    lines.insert(9, json.dumps({"id": "no-instruction", "subtasks": [{"id": "a", "type": "t"}]}))
    path = tmp_path / "logs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_skips_invalid_logs_and_says_how_many_in_its_log_summary_and_run(tmp_path):
    data = _data_with_bad_lines(tmp_path)
    result = CliRunner().invoke(main, ["train", "--config", str(tiny_config(tmp_path, epochs=1)), "--data", str(data),
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert warnings[0].startswith("warning: line 3: skipped: invalid JSON")
    assert warnings[1] == "warning: line 10: skipped: instruction: required field missing"
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed" and summary["skipped"] == 2
    assert summary["train_logs"] + summary["val_logs"] == 24
    assert [pair["line"] for pair in summary["skipped_lines"]] == [3, 10]
    run = Store.open(tmp_path / "db.sqlite").runs.get(summary["run_id"])
    assert run["warnings"][0].startswith("2 invalid log(s) skipped: line 3: invalid JSON")
    assert run["summary"]["skipped"] == 2


def test_train_strict_refuses_a_file_with_an_invalid_log_naming_the_first(tmp_path):
    data = _data_with_bad_lines(tmp_path)
    result = CliRunner().invoke(main, ["train", "--config", str(tiny_config(tmp_path, epochs=1)), "--data", str(data),
                                       "--strict", "--quiet"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {data}: line 3: invalid JSON") and len(result.stderr.splitlines()) == 1
    assert Store.open(tmp_path / "db.sqlite").runs.list() == []


def test_train_on_a_file_of_only_invalid_logs_says_so(tmp_path):
    data = tmp_path / "logs.jsonl"
    data.write_text('{"id": "a"}\n{"id": "b"}\n')
    result = CliRunner().invoke(main, ["train", "--config", str(tiny_config(tmp_path, epochs=1)), "--data", str(data)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (f"Error: no training logs in {data} (2 invalid line(s) skipped, the "
                                              "first: line 1: instruction: required field missing)")


def test_eval_skips_and_names_invalid_logs(trained, tmp_path):
    data = _data_with_bad_lines(tmp_path, n=8)
    checkpoint = str(trained[0] / "ck" / "phase1_best_model.pth")
    result = CliRunner().invoke(main, ["eval", "--checkpoint", checkpoint, "--data", str(data), "--json",
                                       "--device", "cpu"])
    assert result.exit_code == 0, result.output
    warnings = result.stderr.splitlines()
    assert warnings[0].startswith("warning: line 3: skipped: invalid JSON")
    assert warnings[1] == "warning: line 10: skipped: instruction: required field missing"
    report = json.loads(result.stdout)
    assert report["n"] == 8 and report["skipped"] == 2 and [p["line"] for p in report["skipped_lines"]] == [3, 10]
    strict = CliRunner().invoke(main, ["eval", "--checkpoint", checkpoint, "--data", str(data), "--strict"])
    assert strict.exit_code == 1 and f"{data}: line 3: invalid JSON" in strict.stderr


def _taskbench_rows(tmp_path, n=20):
    """n real UltraTool rows (the suite's sample) with an unmappable row as line 4: a link to a tool it lacks."""
    import gzip

    with gzip.open(Path(__file__).parent / "data" / "ultratool_sample.jsonl.gz", "rt", encoding="utf-8") as fh:
        lines = [next(fh).strip() for _ in range(n)]
    bad = {"user_request": "Book it.", "task_nodes": [{"task": "book"}], "task_links": [{"source": "book",
                                                                                          "target": "pay"}],
           "task_steps": ["Step 1 Call book"]}
    lines.insert(3, json.dumps(bad))
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_and_eval_read_taskbench_rows_and_skip_the_unmappable_one_by_its_line(tmp_path):
    """`--format taskbench` reads the rows as `import --format taskbench` does; the bad row is named, not fatal."""
    data = _taskbench_rows(tmp_path)
    config = tiny_config(tmp_path, epochs=1)
    result = CliRunner().invoke(main, ["train", "--config", str(config), "--data", str(data), "--format", "taskbench",
                                       "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0].startswith("warning: line 4: skipped: task_links")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert [p["line"] for p in summary["skipped_lines"]] == [4]
    checkpoint = str(tmp_path / "ck" / "phase1_best_model.pth")
    as_logs = CliRunner().invoke(main, ["eval", "--checkpoint", checkpoint, "--data", str(data), "--device", "cpu"])
    assert as_logs.exit_code == 1  # read as our logs, TaskBench rows are not logs
    text = CliRunner().invoke(main, ["eval", "--checkpoint", checkpoint, "--data", str(data), "--format",
                                     "taskbench", "--device", "cpu"])
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("20 logs         model   nearest-neighbour baseline")
    assert "weakest templates" not in text.stdout  # the rows name none
    report = json.loads(CliRunner().invoke(main, ["eval", "--checkpoint", checkpoint, "--data", str(data), "--format",
                                                  "taskbench", "--json", "--device", "cpu"]).stdout)
    assert report["n"] == 20 and report["skipped"] == 1 and report["baseline"]["n"] == 20
    policy = CliRunner().invoke(main, ["eval", "--checkpoint", checkpoint, "--data", str(data), "--format",
                                       "taskbench", "--policy", "outcome", "--device", "cpu"])
    assert policy.exit_code == 1
    strict = CliRunner().invoke(main, ["train", "--config", str(config), "--data", str(data), "--format", "taskbench",
                                       "--strict"])
    assert strict.exit_code == 1 and f"{data}: line 4: task_links" in strict.stderr
    store_only = CliRunner().invoke(main, ["train", "--config", str(config), "--format", "taskbench"])
    assert store_only.exit_code == 1 and "--format reads --data" in store_only.stderr


def test_eval_of_taskbench_rows_says_why_calibration_is_not_measured(trained, tmp_path):
    checkpoint = str(trained[0] / "ck" / "phase1_best_model.pth")
    result = CliRunner().invoke(main, ["eval", "--checkpoint", checkpoint, "--data", str(_taskbench_rows(tmp_path, 6)),
                                       "--format", "taskbench", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("6 logs ")
    assert "calibration: not measured (TaskBench rows hold no per-step outcomes)" in result.stdout


def test_logs_without_workers_or_outcomes_leave_the_selector_and_outcome_model_out_of_training(tmp_path, capsys):
    """TaskBench rows record no worker and no outcome: the two heads have nothing to learn, so the run leaves
    them out of its passes (frozen as built, the log says so) and trains the rest; logs that record both train
    all of it."""
    import torch

    from orchestai_core.training_data import load_examples

    rows = load_examples(_taskbench_rows(tmp_path), [], fmt="taskbench")
    trainer = Phase1Trainer(TrainConfig(num_epochs=2, batch_size=8, head_learning_rate=5e-3, val_metrics_max=4),
                            PlannerConfig(**TINY_MODEL), tmp_path / "ck", "cpu", progress=False)
    trainer.setup(rows)
    assert (trainer.learns_workers, trainer.learns_outcomes) == (False, False)
    assert "not trained, nothing in the logs to learn from: the worker selector (no logged workers) and the " \
           "outcome model (no logged outcomes)" in capsys.readouterr().err
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    summary = trainer.train(fit_consensus=False)
    assert summary["status"] == "completed" and trainer.history[-1]["loss"] < trainer.history[0]["loss"]
    after = trainer.model.state_dict()
    heads = [k for k in before if k.startswith(("selector.", "outcome."))]
    assert heads and all(torch.equal(before[k], after[k]) for k in heads)
    assert not torch.equal(before["decomposer.out.0.weight"], after["decomposer.out.0.weight"])
    batch = collate(trainer.val_items[:4], trainer.types)
    losses = trainer._batch_loss(batch, training=True)
    assert losses["workers"].item() == 0.0 and losses["outcome_success"].item() == 0.0
    planner = Planner.load(tmp_path / "ck" / "phase1_best_model.pth", "cpu")
    plan = planner.plan("Book a flight to Paris tomorrow.", cost_weight=2.0, budget_usd=0.01)
    assert not planner.plans_workers and plan["subtasks"]  # it plans steps and links, and no worker:
    assert all(s["worker"] is None and s["worker_probs"] == {} and s["est_cost_usd"] is None
               and s["est_latency_ms"] is None for s in plan["subtasks"])  # its selector learnt nothing
    assert (plan["est_cost_usd"], plan["est_latency_ms"], plan["critical_path"]) == (None, None, [])
    assert plan["meta"]["selection"] == "none" and "training logs assign none" in plan["meta"]["selection_note"]
    assert "budget" not in plan["meta"]
    out = planner.model.generate(*_encoded(planner, "Book a flight to Paris tomorrow."), workers=False,
                                 outcomes=False)
    assert out["workers"] is None and out["success"] is None and out["types"].shape[0] == 1
    resumed = Phase1Trainer(TrainConfig(num_epochs=3, batch_size=8, head_learning_rate=5e-3, val_metrics_max=4),
                            PlannerConfig(**TINY_MODEL), tmp_path / "ck", "cpu", progress=False)
    resumed.setup(rows, resume=True)  # the weight average and the optimizer hold the same trained weights
    assert resumed.epoch == 2 and resumed.train(fit_consensus=False)["epochs"] == 3
    assert all(torch.equal(before[k], resumed.model.state_dict()[k]) for k in heads)


def test_the_selector_weighs_each_logged_worker_by_its_choice_prob_and_the_outcome_model_learns_from_every_step(
        trained):
    """The worker term of the loss (in training and validation) is the choice_prob-weighted mean of the logged
    workers' cross-entropy, and `imitation_weights: equal` the plain mean; relabelling the steps the policy explored
    moves the outcome losses, which learn from every step."""
    import torch

    from orchestai_core.model.loss import imitation_weights, planner_loss

    trainer = trained[4]
    items = [item for item in trainer.val_items if any(p <= 0.5 for p in item.choice_probs)][:4]
    assert items, "the synthetic logging policy explores"
    batch = collate(items, trainer.types)
    trainer.model.eval()
    with torch.no_grad():
        outputs = trainer.model(batch["tokens"], batch["token_mask"], batch["numbers"], batch["prev"],
                                batch["emitted"], batch["node_valid"])

    def worker_term(weights):
        return planner_loss(*outputs[:1], batch["type_targets"], outputs[1], batch["worker_targets"], outputs[2],
                            batch["edge_targets"], batch["node_valid"], 0.3, worker_weights=weights)["workers"].item()
    weighted = worker_term(imitation_weights(batch["worker_targets"], batch["choice_probs_targets"]))
    logged = trainer._batch_loss(batch)
    assert logged["workers"].item() == pytest.approx(weighted, rel=1e-5)
    assert weighted != pytest.approx(worker_term(None), rel=1e-3)
    trainer.cfg.imitation_weights = "equal"
    try:
        assert trainer._batch_loss(batch)["workers"].item() == pytest.approx(worker_term(None), rel=1e-5)
    finally:
        trainer.cfg.imitation_weights = TrainConfig.imitation_weights
    other = [replace(item, workers=[(w + 1) % len(trainer.workers) if p <= 0.5 and w >= 0 else w
                                    for w, p in zip(item.workers, item.choice_probs)]) for item in items]
    moved = trainer._batch_loss(collate(other, trainer.types))
    assert moved["outcome_success"].item() != logged["outcome_success"].item()
    with pytest.raises(ValueError, match="imitation_weights must be one of choice_prob, equal, got 'none'"):
        TrainConfig.from_dict({"imitation_weights": "none"})


def test_logs_with_workers_and_outcomes_train_both_heads(trained):
    trainer = trained[-1]
    assert (trainer.learns_workers, trainer.learns_outcomes) == (True, True)
    assert all(p.requires_grad for p in trainer.model.selector.parameters())
    assert all(p.requires_grad for p in trainer.model.outcome.parameters())


def _encoded(planner, text):
    """(frozen token states, mask, numbers) of one instruction, as `Planner` hands them to the model."""
    batch, tokens, words = planner.encoder.tokenize_words([text], planner.device)
    return (planner.encoder.frozen_states(**batch), batch["attention_mask"].bool(),
            planner.model.numbers(tokens, words))


def test_encode_precision_must_be_auto_float32_or_bfloat16():
    assert TrainConfig.from_dict({}).encode_precision == "auto"
    with pytest.raises(ValueError, match="encode_precision must be one of auto, float32, bfloat16, got 'half'"):
        TrainConfig.from_dict({"encode_precision": "half"})


def test_the_token_states_are_encoded_in_bfloat16_where_the_device_computes_it_natively(tmp_path, monkeypatch, capsys):
    """`auto` takes bfloat16 only where the device has it natively; either way the cached states are float32,
    and bfloat16's stay within a few percent of float32's (the states plans are made from)."""
    import torch

    import orchestai_core.train as train_module

    examples = [example_from_log(log) for log in generate_logs(12, seed=5)]
    trainer = Phase1Trainer(TrainConfig(num_epochs=1, batch_size=8, val_metrics_max=2, encode_precision="float32"),
                            PlannerConfig(**TINY_MODEL), tmp_path, "cpu", progress=False)
    trainer.setup(examples)
    assert "bfloat16" not in capsys.readouterr().err
    exact = trainer._encode(examples)
    encoder = trainer.model.encoder
    batch = encoder.tokenize([examples[0].instruction], "cpu")
    assert torch.allclose(exact[0].tokens, encoder.frozen_states(**batch)[0], atol=1e-5)  # float32: the planner's
    trainer.cfg.encode_precision = "bfloat16"
    halved = trainer._encode(examples)
    assert all(h.tokens.dtype == torch.float32 and h.tokens.shape == e.tokens.shape for h, e in zip(halved, exact))
    errors = [float((h.tokens - e.tokens).norm() / e.tokens.norm()) for h, e in zip(halved, exact)]
    assert 0 < max(errors) < 0.03, errors
    trainer.cfg.encode_precision = "auto"
    for native, dtype in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(train_module, "native_bf16", lambda device, native=native: native)
        assert trainer.encode_dtype() == dtype
    monkeypatch.setattr(train_module, "native_bf16", lambda device: True)
    Phase1Trainer(TrainConfig(num_epochs=1, batch_size=8, val_metrics_max=2), PlannerConfig(**TINY_MODEL),
                  tmp_path / "auto", "cpu", progress=False).setup(examples)
    assert "validation logs on cpu, token states encoded in bfloat16" in capsys.readouterr().err


def test_only_a_cpu_with_native_bfloat16_counts_as_having_it():
    import torch

    from orchestai_core.device import native_bf16

    assert native_bf16(torch.device("cuda")) is False and native_bf16(torch.device("mps")) is False
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert native_bf16(torch.device("cpu")) == native
