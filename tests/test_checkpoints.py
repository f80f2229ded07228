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


def test_a_checkpoint_records_its_numerals_reader_and_plan_warns_when_this_code_reads_otherwise(tmp_path,
                                                                                              tiny_checkpoint):
    from dataclasses import replace

    from click.testing import CliRunner

    from orchestai_core.checkpoints import load_checkpoint, save_checkpoint
    from orchestai_core.cli import main
    from orchestai_core.model.numerals import READER_VERSION
    from orchestai_core.planner_api import Planner

    checkpoint = load_checkpoint(tiny_checkpoint)
    assert checkpoint.numerals_version == READER_VERSION and Planner(checkpoint, "cpu").numerals_note is None
    for version, said in ((READER_VERSION - 1, True), (None, False)):  # None: from before checkpoints recorded it
        path = tmp_path / f"reader-{version}.pth"
        save_checkpoint(replace(checkpoint, numerals_version=version), path)
        result = CliRunner().invoke(main, ["plan", "--checkpoint", str(path), "--device", "cpu",
                                           "translate the report into French and German"])
        assert result.exit_code == 0, result.output
        assert ("numerals reader of version" in result.output) == said
        assert '"subtasks"' in result.output  # the plan is still made
    unread = replace(checkpoint, numerals_version=READER_VERSION - 1,
                     model_config={**checkpoint.model_config, "numerals": False})
    assert Planner(unread, "cpu").numerals_note is None  # a planner that reads no numbers has nothing to say
