"""Training launched from the workbench: how fast a run starts and stops, and what one refresh of the
live monitor costs on a full-length run's metrics.

    python benchmarks/run_control_bench.py --repeats 3

Each repeat launches a real run (the project's config, a small data snapshot) through the Train page's
service, waits for its first finished epoch, stops it and times each part. The monitor refresh is timed
on the metric rows of a simulated 50-epoch run (1,000 logs, batch 32, a row set every 5 steps): reading
the rows, computing progress and building the three plotly figures. Prints one JSON line of medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from orchestai_core.config import load_config
from orchestai_core.evaluate import PLAN_METRICS
from orchestai_core.store import Store
from orchestai_core.synth import generate_logs
from workbench.components.loss_chart import components_figure, loss_figure, val_metrics_figure
from workbench.services.run_progress import LOSS_COMPONENTS, progress
from workbench.services.training import TrainRequest, launch_run, stop_run


def wait(predicate, timeout: float = 600.0) -> float:
    """Seconds until `predicate()` holds."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the run did not get there in time")
        time.sleep(0.05)
    return time.perf_counter() - start


def control_once(store: Store, config: dict) -> dict:
    request = TrainRequest.from_config(config)
    request.epochs, request.device = 1000, "cpu"
    began = time.perf_counter()
    run_id = launch_run(store, config, request)
    launch_s = time.perf_counter() - began
    first_epoch_s = launch_s + wait(lambda: (store.runs.get(run_id)["epoch"] or 0) >= 1)
    began = time.perf_counter()
    status = stop_run(store, run_id)
    return {"launch_s": launch_s, "first_epoch_s": first_epoch_s, "stop_s": time.perf_counter() - began,
            "stopped": status == "stopped"}


def simulated_metrics(store: Store, epochs: int = 50, steps_per_epoch: int = 25, log_every: int = 5) -> int:
    run_id = store.runs.create({"training": {"phase1_supervised": {"batch_size": 32}}})
    rows, step = [], 0
    for epoch in range(epochs):
        for _ in range(steps_per_epoch):
            step += 1
            if step % log_every == 0:
                rows += [{"step": step, "epoch": epoch, "split": "train", "name": n, "value": 1.0 / step,
                          "wall_time": step * 0.1} for n in LOSS_COMPONENTS]
        rows += [{"step": step, "epoch": epoch + 1, "split": "val", "name": n, "value": 0.5, "wall_time": step * 0.1}
                 for n in (*LOSS_COMPONENTS, *PLAN_METRICS)]
    store.runs.add_metrics(run_id, rows)
    store.runs.update(run_id, status="running", total_epochs=epochs, total_steps=epochs * steps_per_epoch)
    return run_id


def refresh_ms(store: Store, run_id: int, repeats: int = 30) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run, metrics = store.runs.get(run_id), store.runs.metrics(run_id)
        progress(run, metrics)
        loss_figure(metrics), components_figure(metrics), val_metrics_figure(metrics)
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs launched and stopped")
    parser.add_argument("--logs", type=int, default=200, help="logs in the data snapshot")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="orchestai-run-bench-"))
    config = load_config()
    config["paths"].update(database=str(folder / "bench.db"), checkpoints=str(folder / "checkpoints"),
                           runs=str(folder / "runs"))
    store = Store.open(folder / "bench.db")
    store.logs.add(generate_logs(args.logs, seed=3))
    control = [control_once(store, config) for _ in range(args.repeats)]
    refresh = refresh_ms(store, simulated_metrics(store))
    print(json.dumps({
        "repeats": args.repeats, "snapshot_logs": args.logs,
        "launch_s_p50": round(statistics.median(c["launch_s"] for c in control), 3),
        "first_epoch_s_p50": round(statistics.median(c["first_epoch_s"] for c in control), 2),
        "stop_s_p50": round(statistics.median(c["stop_s"] for c in control), 2),
        "all_stopped_cleanly": all(c["stopped"] for c in control),
        "monitor_refresh_ms_p50": round(statistics.median(refresh), 1),
        "monitor_refresh_ms_max": round(max(refresh), 1),
    }))


if __name__ == "__main__":
    main()
