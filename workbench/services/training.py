"""Launching Phase-1 training from the workbench and following it: the Train and Runs pages' service.

A run is `orchestai train` in a detached process (a session of its own), never inside the Streamlit
server: closing the browser or reloading the page does not stop it. Each run gets a folder under
`paths.runs` with the data snapshot it trains on, the config it was launched with and its log file,
and writes checkpoints to `<paths.checkpoints>/run-<id>/`. One run per device at a time.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from orchestai_core.checkpoints import LAST, run_folder
from orchestai_core.config import REPO_ROOT
from orchestai_core.device import Device, available_devices, device_key, resolve_device
from orchestai_core.export import write_jsonl
from orchestai_core.model.planner import PlannerConfig
from orchestai_core.store import LogFilter, Store, StoreError
from orchestai_core.train import TrainConfig, training_settings
from workbench.services.processes import is_training_alive, terminate, wait_until_started

DATA_CHOICES = {"accepted": "Accepted logs only", "not_rejected": "All logs but rejected ones",
                "filter": "Logs matching a filter"}
ACTIVE = ("queued", "running")
QUEUED_WITHOUT_PROCESS_S = 120  # a queued run whose launcher never recorded a pid is dead after this
STOP_GRACE_S = 30.0


class LaunchError(ValueError):
    """A run cannot be launched (invalid settings, no data, busy device…); the message says why."""


@dataclass
class TrainRequest:
    """What the Train page's form asks for: the data, the device, and the training settings the form shows,
    which start from config.yaml's typed settings (`training_settings`); defaults are theirs."""

    data: str = "not_rejected"
    filter: LogFilter = field(default_factory=LogFilter)
    epochs: int = TrainConfig.num_epochs
    patience: int = TrainConfig.patience
    batch_size: int = TrainConfig.batch_size
    learning_rate: float = TrainConfig.learning_rate
    head_learning_rate: float = TrainConfig.head_learning_rate
    lambda_dag: float = TrainConfig.lambda_dag
    encoder: str = PlannerConfig.encoder
    finetune_layers: int = PlannerConfig.finetune_layers
    encoder_layers: int = PlannerConfig.layers
    split: str = TrainConfig.split
    seed: int = TrainConfig.seed
    device: str = "auto"

    @classmethod
    def from_config(cls, config: dict) -> TrainRequest:
        train, model = training_settings(config)
        return cls(epochs=train.num_epochs, patience=train.patience, batch_size=train.batch_size,
                   learning_rate=train.learning_rate, head_learning_rate=train.head_learning_rate,
                   lambda_dag=train.lambda_dag, encoder=model.encoder, finetune_layers=model.finetune_layers,
                   encoder_layers=model.layers, split=train.split, seed=train.seed)


# ---------------------------------------------------------------------------- validation
def validate_request(request: TrainRequest, devices: list[Device] | None = None) -> list[str]:
    """Every reason the request cannot run, as sentences (empty when it can)."""
    problems = []
    if request.data not in DATA_CHOICES:
        problems.append(f"Data must be one of {', '.join(DATA_CHOICES)}, not {request.data!r}.")
    if not 1 <= request.epochs <= 10_000:
        problems.append(f"Epochs must be between 1 and 10000 (got {request.epochs}).")
    if not 0 <= request.patience <= 10_000:
        problems.append(f"Patience must be between 0 (run every epoch) and 10000 epochs (got {request.patience}).")
    if not 1 <= request.batch_size <= 4096:
        problems.append(f"Batch size must be between 1 and 4096 (got {request.batch_size}).")
    for label, value in (("Learning rate", request.learning_rate), ("Head learning rate", request.head_learning_rate)):
        if not 0 < value <= 1:
            problems.append(f"{label} must be above 0 and at most 1 (got {value}).")
    if not 0 <= request.lambda_dag <= 100:
        problems.append(f"λ_DAG must be between 0 and 100 (got {request.lambda_dag}).")
    if not request.encoder.strip():
        problems.append("The encoder needs a name or a local path.")
    if not 0 <= request.finetune_layers <= 48:
        problems.append(f"Layers to fine-tune must be between 0 and 48 (got {request.finetune_layers}).")
    if not 0 <= request.encoder_layers <= 48:
        problems.append(f"Encoder layers kept must be between 0 (all) and 48 (got {request.encoder_layers}).")
    elif request.encoder_layers and request.finetune_layers > request.encoder_layers:
        problems.append(f"Layers to fine-tune ({request.finetune_layers}) cannot exceed the encoder layers kept "
                        f"({request.encoder_layers}).")
    if request.split not in ("random", "template"):
        problems.append(f"Split must be 'random' or 'template' (got {request.split!r}).")
    if not 0 <= request.seed < 2**32:
        problems.append(f"The seed must be between 0 and 4294967295 (got {request.seed}).")
    names = [d.name for d in (devices if devices is not None else available_devices())]
    if request.device not in names:
        problems.append(f"Device {request.device!r} is not available here (available: {', '.join(names)}).")
    if not problems:  # what the form does not check, the settings' own rules do
        try:
            training_settings(_with_request({}, request))
        except (ValueError, TypeError) as exc:
            problems.append(f"Settings: {exc}.")
    return problems


def data_filter(request: TrainRequest) -> LogFilter:
    """The logs a request trains on."""
    if request.data == "accepted":
        return LogFilter(review_status="accepted")
    if request.data == "not_rejected":
        return LogFilter(not_review_status="rejected")
    return request.filter


# ---------------------------------------------------------------------------- launching
def run_dir(config: dict, run_id: int) -> Path:
    """The run's own folder under `paths.runs`: data snapshot, config and log file."""
    return run_folder(config["paths"]["runs"], run_id)


def run_config(config: dict, request: TrainRequest, store: Store) -> dict:
    """The project config with the form's values, as the run's process reads it."""
    snapshot = _with_request(copy.deepcopy({k: v for k, v in config.items() if not k.startswith("_")}), request)
    snapshot["paths"] = {**snapshot.get("paths", {}), "database": str(store.path)}
    return snapshot


def _with_request(config: dict, request: TrainRequest) -> dict:
    """`config` with the form's values written into its training and encoder sections (in place)."""
    section = config.setdefault("training", {}).setdefault("phase1_supervised", {})
    section.update(num_epochs=request.epochs, patience=request.patience, batch_size=request.batch_size,
                   learning_rate=request.learning_rate, head_learning_rate=request.head_learning_rate,
                   lambda_dag=request.lambda_dag, split=request.split, seed=request.seed)
    config.setdefault("encoder", {}).update(encoder=request.encoder, finetune_layers=request.finetune_layers,
                                            layers=request.encoder_layers)
    return config


def _command(run_id: int, folder: Path, out_dir: Path, store: Store, device: str, resume: bool) -> list[str]:
    command = [sys.executable, "-m", "orchestai_core", "train", "--config", str(folder / "config.yaml"),
               "--data", str(folder / "data.jsonl"), "--db", str(store.path), "--run-id", str(run_id),
               "--out", str(out_dir), "--device", device, "--quiet"]
    return command + ["--resume"] if resume else command


def _start(command: list[str], log_path: Path) -> int:
    """Start the command detached (own session and process group), output appended to the log; its pid."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    wait_until_started(proc.pid)  # before its pid is recorded, so no refresh can take it for dead
    return proc.pid


def launch_run(store: Store, config: dict, request: TrainRequest) -> int:
    """Validate, snapshot the data and the config, queue the run on its device and start it; its id."""
    problems = validate_request(request)
    if problems:
        raise LaunchError(" ".join(problems))
    refresh_runs(store)
    device = resolve_device(request.device)
    settings = run_config(config, request, store)
    try:
        run_id = store.runs.claim_device(device, lambda name: device_key(name) == device, config=settings,
                                         out_dir=None, kind="phase1")
    except StoreError as exc:
        raise LaunchError(str(exc)) from None
    try:
        folder = run_dir(config, run_id)
        folder.mkdir(parents=True, exist_ok=True)
        size = write_jsonl(store.logs.iterate(flt=data_filter(request)), folder / "data.jsonl")
        if size < 2:
            raise LaunchError(f"{DATA_CHOICES[request.data]} gives {size} log(s); training needs at least 2.")
        (folder / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        out_dir = run_folder(config["paths"]["checkpoints"], run_id)
        command = _command(run_id, folder, out_dir, store, device, resume=False)
        store.runs.update(run_id, data_size=size, log_path=str(folder / "train.log"), out_dir=str(out_dir),
                          command=command, config={**settings, "request": _request_record(request)})
        store.runs.update(run_id, pid=_start(command, folder / "train.log"))
    except BaseException as exc:
        store.runs.end_if_active(run_id, "failed", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if isinstance(exc, OSError):
            raise LaunchError(f"cannot start run {run_id}: {exc}") from None
        raise
    return run_id


def _request_record(request: TrainRequest) -> dict:
    record = asdict(request)
    record["filter"] = {k: v for k, v in record["filter"].items() if v is not None}
    return record


def launch_quick_run(store: Store, config: dict, epochs: int = 3) -> int:
    """A short run on every log that is not rejected, with the config's other defaults."""
    request = TrainRequest.from_config(config)
    request.epochs, request.data = epochs, "not_rejected"
    return launch_run(store, config, request)


def resume_run(store: Store, run_id: int) -> int:
    """Continue a stopped or crashed run from its `last.pth`, on the device it used, as the same run."""
    refresh_runs(store)
    run = store.runs.get(run_id)
    if run["status"] in ACTIVE:
        raise LaunchError(f"run {run_id} is still {run['status']}")
    if not run.get("command") or not run.get("out_dir"):
        raise LaunchError(f"run {run_id} was not launched from the workbench; "
                          "resume it with `orchestai train --resume`")
    if not (Path(run["out_dir"]) / LAST).is_file():
        raise LaunchError(f"run {run_id} has no {LAST} to resume from (it ended before its first save)")
    device = device_key(run["command"][run["command"].index("--device") + 1])
    try:
        store.runs.claim_device(device, lambda name: device_key(name) == device, run_id=run_id)
    except StoreError as exc:
        raise LaunchError(str(exc)) from None
    command = [part for part in run["command"] if part != "--resume"] + ["--resume"]
    try:
        pid = _start(command, Path(run["log_path"]))
    except OSError as exc:
        store.runs.end_if_active(run_id, "failed", error=f"cannot restart: {exc}")
        raise LaunchError(f"cannot resume run {run_id}: {exc}") from None
    store.runs.update(run_id, pid=pid, command=command)
    return run_id


# ---------------------------------------------------------------------------- following
def _age_seconds(iso: str | None) -> float:
    if not iso:
        return 0.0
    return (datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds()


def refresh_runs(store: Store) -> list[int]:
    """Mark runs whose process is gone without ending them (killed, crashed, rebooted) as `crashed`,
    with the end of their log; return their ids."""
    crashed = []
    for run in store.runs.active():
        if run["pid"] is None:
            if run["status"] == "queued" and _age_seconds(run["created_at"]) < QUEUED_WITHOUT_PROCESS_S:
                continue  # being launched right now
        elif is_training_alive(run["pid"]):
            continue
        tail = log_tail(run, 12).strip()
        reason = "the training process ended without finishing the run"
        if store.runs.end_if_active(run["id"], "crashed", error=f"{reason}\n{tail}" if tail else reason):
            crashed.append(run["id"])
    return crashed


def stop_run(store: Store, run_id: int, grace: float = STOP_GRACE_S) -> str:
    """SIGTERM the run's process group (it saves last.pth and ends `stopped`); SIGKILL after `grace`
    seconds. Returns the run's status afterwards."""
    run = store.runs.get(run_id)
    if run["status"] not in ACTIVE:
        raise LaunchError(f"run {run_id} is not running (it is {run['status']})")
    outcome = terminate(run["pid"], grace) if run["pid"] else "gone"
    if outcome == "killed":
        store.runs.end_if_active(run_id, "stopped", error=f"did not stop within {grace:.0f} s of SIGTERM; killed")
    elif outcome == "ended":  # a no-op when the trainer recorded its stop; else it was still loading
        store.runs.end_if_active(run_id, "stopped", error="stopped before training began")
    refresh_runs(store)  # "gone": the process had died by itself, so the run crashed
    return store.runs.get(run_id)["status"]


def log_tail(run: dict, lines: int = 40) -> str:
    """The last lines of the run's log file ('' when it has none)."""
    path = run.get("log_path")
    if not path or not Path(path).is_file():
        return ""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 64 * 1024))
        text = fh.read().decode("utf-8", errors="replace").replace("\r", "\n")
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def delete_run(store: Store, config: dict, run_id: int) -> list[Path]:
    """Delete an ended run: its rows, its checkpoint folder and its run folder; return what was removed.

    Only folders inside `paths.checkpoints` and `paths.runs` named for this run are removed."""
    refresh_runs(store)
    run = store.runs.get(run_id)
    if run["status"] in ACTIVE:
        raise LaunchError(f"run {run_id} is {run['status']}: stop it before deleting it")
    removed = []
    for root in (config["paths"]["checkpoints"], config["paths"]["runs"]):
        folder = run_folder(root, run_id)
        if folder.is_dir() and folder.resolve().parent == Path(root).resolve():
            shutil.rmtree(folder)
            removed.append(folder)
    store.runs.delete(run_id)
    return removed
