"""Training launched from the workbench: real tiny runs through the same service the Train page uses."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from planner_fixtures import kill_active_runs, wait_for

from orchestai_core.config import load_config
from orchestai_core.store import LogFilter, Store
from orchestai_core.synth import generate_logs
from workbench.services import processes
from workbench.services.processes import is_training_alive
from workbench.services.training import (
    Device,
    LaunchError,
    TrainRequest,
    _start,
    delete_run,
    launch_run,
    log_tail,
    refresh_runs,
    resume_run,
    run_config,
    run_dir,
    stop_run,
    validate_request,
)


@pytest.fixture
def workbench(workbench_home):
    config = load_config()
    store = Store.open(config["paths"]["database"])
    store.logs.add(generate_logs(40, seed=1))
    yield store, config
    kill_active_runs(store)
    store.close()


def request(config, **changes) -> TrainRequest:
    req = TrainRequest.from_config(config)
    req.device = "cpu"
    for key, value in changes.items():
        setattr(req, key, value)
    return req


def test_a_run_goes_from_queued_to_running_to_completed_and_records_everything(workbench):
    store, config = workbench
    run_id = launch_run(store, config, request(config, epochs=2))
    run = store.runs.get(run_id)
    assert run["status"] in ("queued", "running") and run["pid"] and run["data_size"] == 40
    assert run["config"]["request"]["epochs"] == 2 and run["command"][-1] == "--quiet"
    run = wait_for(lambda: (r := store.runs.get(run_id))["status"] not in ("queued", "running") and r, what="the end")
    assert run["status"] == "completed", log_tail(run)
    assert run["started_at"]  # the trainer marked it running (a poll could miss so short a state)
    metrics = store.runs.metrics(run_id)
    assert {"loss", "types", "workers", "edges", "dag"} <= {m["name"] for m in metrics if m["split"] == "train"}
    assert {m["epoch"] for m in metrics if m["split"] == "val" and m["name"] == "node_f1"} == {1, 2}
    assert (run_dir(config, run_id) / "data.jsonl").read_text().count("\n") == 40
    assert (os.path.isfile(os.path.join(run["out_dir"], "phase1_best_model.pth"))
            and run["out_dir"].startswith(config["paths"]["checkpoints"]))
    assert "epoch 2/2" in log_tail(run) and "completed after 2 epochs" in log_tail(run)
    wait_for(lambda: not is_training_alive(run["pid"]), timeout=60, what="the process to exit")


def test_stop_saves_last_a_second_launch_is_refused_meanwhile_and_resume_continues(workbench):
    store, config = workbench
    run_id = launch_run(store, config, request(config, epochs=400))
    with pytest.raises(LaunchError, match=f"device cpu is busy with run {run_id}"):
        launch_run(store, config, request(config, epochs=2))
    assert len(store.runs.list()) == 1
    wait_for(lambda: (store.runs.get(run_id)["epoch"] or 0) >= 1, what="a first epoch")
    assert stop_run(store, run_id, grace=60) == "stopped"
    run = store.runs.get(run_id)
    assert os.path.isfile(os.path.join(run["out_dir"], "last.pth")) and not is_training_alive(run["pid"])
    stopped_at = run["epoch"]

    assert resume_run(store, run_id) == run_id
    wait_for(lambda: (store.runs.get(run_id)["epoch"] or 0) > stopped_at, what="an epoch after the resume")
    assert store.runs.get(run_id)["status"] == "running"
    assert "resuming after epoch" in log_tail(store.runs.get(run_id))
    assert stop_run(store, run_id, grace=60) == "stopped"
    with pytest.raises(LaunchError, match="not running"):
        stop_run(store, run_id)


def test_a_killed_run_is_crashed_at_the_next_refresh_with_the_end_of_its_log(workbench):
    store, config = workbench
    run_id = launch_run(store, config, request(config, epochs=400))
    wait_for(lambda: (store.runs.get(run_id)["epoch"] or 0) >= 1, what="a first epoch")
    pid = store.runs.get(run_id)["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not is_training_alive(pid), timeout=30, what="the process to die")
    assert refresh_runs(store) == [run_id]
    run = store.runs.get(run_id)
    assert run["status"] == "crashed" and re.search(r"epoch \d+/400", run["error"])
    assert refresh_runs(store) == []  # once only


def test_a_running_row_whose_pid_is_another_program_is_crashed(workbench):
    store, _ = workbench
    other = subprocess.Popen(["sleep", "30"])
    try:  # until exec has set its arguments, the pid's command line is empty rather than sleep's
        wait_for(lambda: Path(f"/proc/{other.pid}/cmdline").read_bytes(), what="sleep's command line")
        run_id = store.runs.create({"x": 1})
        store.runs.update(run_id, status="running", pid=other.pid)
        assert refresh_runs(store) == [run_id]
    finally:
        other.kill()
        other.wait()


def test_stopping_a_run_whose_process_already_died_calls_it_crashed(workbench):
    store, _ = workbench
    finished = subprocess.Popen(["true"])
    finished.wait()
    run_id = store.runs.create({"x": 1})
    store.runs.update(run_id, status="running", pid=finished.pid)
    assert stop_run(store, run_id, grace=1) == "crashed"


def test_invalid_settings_are_refused_with_reasons_before_anything_starts(workbench):
    store, config = workbench
    bad = request(config, epochs=0, batch_size=-1, learning_rate=0.0, lambda_dag=-1.0, encoder=" ",
                  split="alphabetical", device="cuda:7", patience=-1)
    problems = validate_request(bad, [Device("auto", "auto"), Device("cpu", "cpu")])
    assert len(problems) == 8
    assert "Patience must be between 0 (run every epoch) and 10000 epochs (got -1)." in problems
    assert any("Device 'cuda:7' is not available" in p for p in problems)
    with pytest.raises(LaunchError, match="Epochs must be between 1 and 10000"):
        launch_run(store, config, bad)
    assert store.runs.list() == []


def test_encoder_layers_kept_reach_the_runs_config_and_are_checked_against_fine_tuning(workbench):
    store, config = workbench
    devices = [Device("cpu", "cpu")]
    assert validate_request(request(config, encoder_layers=3, finetune_layers=1), devices) == []
    assert validate_request(request(config, encoder_layers=2, finetune_layers=3), devices) == [
        "Layers to fine-tune (3) cannot exceed the encoder layers kept (2)."]
    assert validate_request(request(config, encoder_layers=-1), devices) == [
        "Encoder layers kept must be between 0 (all) and 48 (got -1)."]
    snapshot = run_config(config, request(config, encoder_layers=3), store)
    assert snapshot["encoder"]["layers"] == 3 and TrainRequest.from_config(snapshot).encoder_layers == 3


def test_patience_reaches_the_runs_config(workbench):
    store, config = workbench
    assert TrainRequest.from_config(config).patience == 0  # config.yaml: every epoch runs
    snapshot = run_config(config, request(config, patience=5), store)
    assert snapshot["training"]["phase1_supervised"]["patience"] == 5
    assert TrainRequest.from_config(snapshot).patience == 5


def test_too_little_data_fails_the_run_and_says_why(workbench):
    store, config = workbench
    with pytest.raises(LaunchError, match="Accepted logs only gives 0 log"):
        launch_run(store, config, request(config, data="accepted"))
    assert [r["status"] for r in store.runs.list()] == ["failed"]
    assert not store.runs.active()


def test_a_filter_selects_the_training_snapshot(workbench):
    store, config = workbench
    flt = LogFilter(min_subtasks=20)
    wanted = store.logs.count(flt)
    assert 2 <= wanted < 40
    run_id = launch_run(store, config, request(config, data="filter", filter=flt, epochs=1))
    assert store.runs.get(run_id)["data_size"] == wanted
    assert store.runs.get(run_id)["config"]["request"]["filter"] == {"min_subtasks": 20}
    wait_for(lambda: store.runs.get(run_id)["status"] not in ("queued", "running"), what="the end")


def test_delete_removes_rows_and_folders_of_an_ended_run_but_refuses_an_active_one(workbench):
    store, config = workbench
    run_id = launch_run(store, config, request(config, epochs=400))
    with pytest.raises(LaunchError, match="stop it before deleting it"):
        delete_run(store, config, run_id)
    wait_for(lambda: (store.runs.get(run_id)["epoch"] or 0) >= 1, what="a first epoch")
    stop_run(store, run_id, grace=60)
    checkpoints, folder = store.runs.get(run_id)["out_dir"], run_dir(config, run_id)
    removed = delete_run(store, config, run_id)
    assert {str(p) for p in removed} == {checkpoints, str(folder)}
    assert not os.path.exists(checkpoints) and not folder.exists()
    assert store.runs.list() == [] and store.runs.metrics(run_id) == []



def test_a_started_process_is_alive_at_once_though_linux_sets_its_command_line_late(tmp_path, monkeypatch):
    # Popen returns once exec has begun; Linux sets the new program's arguments a moment later, and a check
    # in between read an empty command line, took the run for a stranger and marked a fresh run crashed.
    # Here the first three reads of /proc fall in that moment, as they can on a loaded machine.
    real, blank = processes._proc_state, iter(range(3))
    monkeypatch.setattr(processes, "_proc_state",
                        lambda pid: (real(pid)[0], b"") if next(blank, None) is not None else real(pid))
    pid = _start(["sh", "-c", "sleep 30", "orchestai"], tmp_path / "start.log")
    try:
        assert is_training_alive(pid)
    finally:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_processes_started_one_after_another_are_each_alive_at_once(tmp_path):
    for attempt in range(100):  # the same moment, met for real (a few in a hundred on an idle machine)
        pid = _start(["sh", "-c", "sleep 30", "orchestai"], tmp_path / "start.log")
        try:
            assert is_training_alive(pid), f"attempt {attempt}"
        finally:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
