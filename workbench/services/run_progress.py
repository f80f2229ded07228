"""What the live monitor shows of a run, computed from its row and metric rows (no UI here).

Metric rows: `train` every few steps (loss and its components), `val` every epoch (losses and plan
metrics), `system` (GPU memory on CUDA). `wall_time` is seconds of training, carried across resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

LOSS_COMPONENTS = ("loss", "types", "workers", "edges", "dag", "counts",
                   "outcome_success", "outcome_cost", "outcome_latency")  # the outcome model's own losses
RATE_WINDOW = 20  # logged steps over which examples/s is measured


@dataclass
class Progress:
    """Where a run stands."""

    epoch: int
    total_epochs: int | None
    step: int
    total_steps: int | None
    trained_s: float
    eta_s: float | None            # an estimate from the pace so far
    examples_per_s: float | None
    best_epoch: int | None
    best_val_loss: float | None
    gpu_memory_mb: float | None

    @property
    def epoch_fraction(self) -> float:
        return min(1.0, self.epoch / self.total_epochs) if self.total_epochs else 0.0

    @property
    def step_fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


def series(metrics: list[dict], split: str, name: str) -> list[dict]:
    """The rows of one curve, in the order they were written."""
    return [m for m in metrics if m["split"] == split and m["name"] == name]


def _examples_per_s(train_loss: list[dict], batch_size: int | None) -> float | None:
    window = train_loss[-RATE_WINDOW:]
    if not batch_size or len(window) < 2:
        return None
    steps = window[-1]["step"] - window[0]["step"]
    seconds = window[-1]["wall_time"] - window[0]["wall_time"]
    return steps * batch_size / seconds if steps > 0 and seconds > 0 else None


def progress(run: dict, metrics: list[dict]) -> Progress:
    """Progress, pace and best epoch of a run from what it recorded so far."""
    train_loss = series(metrics, "train", "loss")
    val_loss = series(metrics, "val", "loss")
    step = max([m["step"] or 0 for m in train_loss] + [run.get("step") or 0])
    trained = max((m["wall_time"] for m in metrics), default=0.0)
    total_steps = run.get("total_steps")
    eta = None
    if run.get("status") in ("queued", "running") and total_steps and step and trained:
        eta = max(0.0, (total_steps - step) * trained / step)
    best = min(val_loss, key=lambda m: m["value"], default=None)
    gpu = series(metrics, "system", "gpu_memory_mb")
    batch_size = (run.get("config") or {}).get("training", {}).get("phase1_supervised", {}).get("batch_size")
    return Progress(epoch=max([m["epoch"] for m in val_loss] + [run.get("epoch") or 0]),
                    total_epochs=run.get("total_epochs"), step=step, total_steps=total_steps, trained_s=trained,
                    eta_s=eta, examples_per_s=_examples_per_s(train_loss, batch_size),
                    best_epoch=best["epoch"] if best else None, best_val_loss=best["value"] if best else None,
                    gpu_memory_mb=gpu[-1]["value"] if gpu else None)


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average, debiased at the start (weight 0 = raw, towards 1 = smoother)."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight ** i) if weight else value)
    return out


def format_seconds(seconds: float | None) -> str:
    """`1 h 02 min`, `3 min 05 s`, `42 s`; an em dash when unknown."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
