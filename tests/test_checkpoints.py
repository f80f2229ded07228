"""Finding checkpoints on disk: newest first, run ids from run folders, writes in progress skipped."""

import os

from orchestai_core.checkpoints import find_checkpoints, newest_best, run_folder


def _touch(path, mtime, size=10):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_checkpoints_are_listed_newest_first_with_kind_size_and_run(tmp_path):
    _touch(run_folder(tmp_path, 3) / "phase1_best_model.pth", 1000, size=7)
    _touch(run_folder(tmp_path, 3) / "last.pth", 3000)
    _touch(tmp_path / "phase1_best_model.pth", 2000)
    _touch(tmp_path / "run-4" / "phase1_best_model.pth.tmp", 4000)  # a write in progress
    found = find_checkpoints(tmp_path)
    assert [(c.path.relative_to(tmp_path).as_posix(), c.kind, c.run_id) for c in found] == [
        ("run-3/last.pth", "last", 3), ("phase1_best_model.pth", "best", None),
        ("run-3/phase1_best_model.pth", "best", 3)]
    assert found[2].size_bytes == 7
    assert found[0].label.startswith("run 3 · last · 1970-01-01")


def test_newest_best_skips_last_checkpoints_and_handles_a_missing_folder(tmp_path):
    assert newest_best(tmp_path / "nothing") is None and find_checkpoints(tmp_path / "nothing") == []
    _touch(run_folder(tmp_path, 1) / "phase1_best_model.pth", 1000)
    _touch(run_folder(tmp_path, 2) / "last.pth", 5000)
    assert newest_best(tmp_path).run_id == 1
