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


def test_the_planner_to_use_is_the_newest_best_checkpoint_else_the_bundled_one_else_the_newest(tmp_path):
    from orchestai_core.checkpoints import planner_checkpoints, preferred_index

    def chosen(root, bundled):
        found = planner_checkpoints(root, bundled)
        index = preferred_index(found)
        return None if index is None else found[index].path

    bundled = _touch(tmp_path / "assets" / "default_planner.pth", 500)
    root = tmp_path / "checkpoints"
    assert chosen(root, bundled) == bundled  # no checkpoints folder yet
    last = _touch(run_folder(root, 1) / "last.pth", 900)
    assert chosen(root, bundled) == bundled  # a run stopped before its first epoch ended: the bundled planner first
    assert chosen(root, None) == last  # without one, the newest checkpoint there is
    best = _touch(run_folder(root, 1) / "phase1_best_model.pth", 800)
    assert chosen(root, bundled) == best and chosen(None, bundled) == bundled
    assert chosen(tmp_path / "none", tmp_path / "missing.pth") is None and chosen(None, None) is None
    assert [c.kind for c in planner_checkpoints(root, bundled)] == ["last", "best", "bundled"]


def _config(tmp_path, checkpoints, bundled):
    import yaml

    config = yaml.safe_load(open("config.yaml"))
    config["paths"] = {"database": str(tmp_path / "db.sqlite")}
    config["paths"].update({k: str(v) for k, v in (("checkpoints", checkpoints), ("default_planner", bundled)) if v})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_plan_and_eval_without_a_checkpoint_use_the_one_the_planner_page_would_and_say_which(tmp_path,
                                                                                              tiny_checkpoint):
    import json
    import shutil

    from click.testing import CliRunner

    from orchestai_core.cli import main
    from orchestai_core.export import write_jsonl
    from orchestai_core.synth import generate_logs

    root = tmp_path / "checkpoints"
    config = _config(tmp_path, root, tiny_checkpoint)
    first = CliRunner().invoke(main, ["plan", "--config", config, "--device", "cpu", "summarize this pdf for me"])
    assert first.exit_code == 0, first.output
    assert f"using the bundled planner: {tiny_checkpoint}" in first.stderr
    assert json.loads(first.stdout)["subtasks"]
    best = run_folder(root, 2) / "phase1_best_model.pth"
    best.parent.mkdir(parents=True)
    shutil.copy(tiny_checkpoint, best)
    data = tmp_path / "held.jsonl"
    write_jsonl(generate_logs(6, seed=5), data)
    evaluated = CliRunner().invoke(main, ["eval", "--config", config, "--data", str(data), "--json", "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.output
    assert f"using the newest best checkpoint: {best}" in evaluated.stderr
    assert json.loads(evaluated.stdout)["n"] == 6
    named = CliRunner().invoke(main, ["plan", "--config", config, "--checkpoint", str(tiny_checkpoint), "--device",
                                      "cpu", "summarize this pdf for me"])
    assert named.exit_code == 0 and "using the" not in named.stderr  # a checkpoint given is used without a word
    nothing = _config(tmp_path, tmp_path / "empty", tmp_path / "gone.pth")
    refused = CliRunner().invoke(main, ["plan", "--config", nothing, "summarize this pdf for me"])
    assert refused.exit_code == 1
    assert f"no planner to use: no checkpoint under {tmp_path / 'empty'} and no bundled planner at " \
           f"{tmp_path / 'gone.pth'}; train one (orchestai train) or give --checkpoint FILE" in refused.stderr
    unset = CliRunner().invoke(main, ["plan", "--config", _config(tmp_path, None, None), "summarize this pdf"])
    assert unset.exit_code == 1 and "no checkpoint under (paths.checkpoints unset) and no bundled planner at " \
        "(paths.default_planner unset)" in unset.stderr
