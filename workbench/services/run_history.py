"""The Runs page's figures: one table row per run, and what differs between runs' configs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestai_core.evaluate import PLAN_METRICS


def duration_s(run: dict) -> float | None:
    """Seconds from start to end (or to the last heartbeat of a run that has not ended)."""
    end = run.get("ended_at") or run.get("heartbeat_at")
    if not run.get("started_at") or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(run["started_at"])).total_seconds()


def best_metrics(run: dict, metrics: list[dict]) -> dict[str, float]:
    """The validation plan metrics of the run's best epoch (lowest validation loss)."""
    val = [m for m in metrics if m["split"] == "val"]
    losses = [m for m in val if m["name"] == "loss"]
    if not losses:
        return {}
    best_epoch = min(losses, key=lambda m: m["value"])["epoch"]
    return {m["name"]: m["value"] for m in val if m["epoch"] == best_epoch and m["name"] in PLAN_METRICS}


def run_row(run: dict, metrics: list[dict]) -> dict[str, Any]:
    """What the history table shows of a run."""
    best = best_metrics(run, metrics)
    request = (run.get("config") or {}).get("request", {})
    return {"run": run["id"], "status": run["status"], "created": run["created_at"], "device": run.get("device"),
            "duration_s": duration_s(run), "epochs": f"{run.get('epoch') or 0}/{run.get('total_epochs') or '?'}",
            "data": run.get("data_size"), "data choice": request.get("data"),
            "best val loss": run.get("best_val_loss"), "best epoch": run.get("best_epoch"),
            **{name: best.get(name) for name in PLAN_METRICS}, "error": (run.get("error") or "").split("\n")[0]}


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (`training.phase1_supervised.batch_size`)."""
    if not isinstance(config, dict):
        return {prefix: config}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def config_diff(configs: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per setting whose value differs between the given runs' configs (label → config)."""
    flat = {label: flatten(config) for label, config in configs.items()}
    keys = sorted({key for values in flat.values() for key in values})
    rows = []
    for key in keys:
        values = {label: values.get(key) for label, values in flat.items()}
        if len({repr(v) for v in values.values()}) > 1:
            rows.append({"setting": key, **{label: "—" if v is None else str(v) for label, v in values.items()}})
    return rows
