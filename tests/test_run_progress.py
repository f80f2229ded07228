"""What the live monitor computes from a run's rows: progress, pace, ETA, best epoch, smoothing."""

import pytest

from workbench.services.run_progress import format_seconds, progress, series, smooth


def _metrics():
    rows = []
    for step in range(1, 11):  # 10 logged steps, 2 s each, batch 8
        rows += [{"split": "train", "name": n, "step": step, "epoch": (step - 1) // 5, "value": 1.0 / step,
                  "wall_time": 2.0 * step} for n in ("loss", "types")]
    for epoch, loss in ((1, 0.9), (2, 0.7)):
        rows += [{"split": "val", "name": "loss", "step": 5 * epoch, "epoch": epoch, "value": loss,
                  "wall_time": 10.0 * epoch},
                 {"split": "val", "name": "node_f1", "step": 5 * epoch, "epoch": epoch, "value": 0.5 * epoch,
                  "wall_time": 10.0 * epoch}]
    return rows


RUN = {"status": "running", "total_epochs": 4, "total_steps": 20, "epoch": 2, "step": 10,
       "config": {"training": {"phase1_supervised": {"batch_size": 8}}}}


def test_progress_pace_eta_and_best_epoch():
    p = progress(RUN, _metrics())
    assert (p.epoch, p.step, p.trained_s) == (2, 10, 20.0)
    assert p.epoch_fraction == 0.5 and p.step_fraction == 0.5
    assert p.eta_s == pytest.approx(20.0)          # 10 steps left at 2 s each
    assert p.examples_per_s == pytest.approx(4.0)  # 9 steps × 8 examples in 18 s
    assert (p.best_epoch, p.best_val_loss) == (2, 0.7)
    assert p.gpu_memory_mb is None


def test_an_ended_or_empty_run_has_no_eta_and_no_pace():
    assert progress({**RUN, "status": "completed"}, _metrics()).eta_s is None
    empty = progress({"status": "queued"}, [])
    assert ((empty.step, empty.epoch, empty.examples_per_s, empty.best_epoch, empty.step_fraction)
            == (0, 0, None, None, 0.0))


def test_smoothing_keeps_the_first_value_and_follows_the_trend():
    assert smooth([4.0, 2.0, 1.0], 0.0) == [4.0, 2.0, 1.0]
    smoothed = smooth([4.0, 2.0, 1.0], 0.9)
    assert smoothed[0] == pytest.approx(4.0) and 1.0 < smoothed[2] < smoothed[1] < 4.0
    with pytest.raises(ValueError, match="smoothing weight"):
        smooth([1.0], 1.0)


def test_series():
    assert [m["step"] for m in series(_metrics(), "train", "types")] == list(range(1, 11))


@pytest.mark.parametrize("seconds, text", [(None, "—"), (42.4, "42 s"), (185, "3 min 05 s"), (3720, "1 h 02 min")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text
