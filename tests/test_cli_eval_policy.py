"""`orchestai eval --policy outcome`: off-policy estimates of the outcome model's worker selection against the
logging policy, calibration and the cost–quality curve, as text and as one JSON object; and the calibration
line of a plain `eval`. The planner is a fake keeping the outcome model's contract (see outcome_fixtures)."""

import copy
import json
import re

import pytest
from click.testing import CliRunner
from outcome_fixtures import TruthPlanner

from orchestai_core.__main__ import main
from orchestai_core.catalogue import load_catalogue
from orchestai_core.evaluate import PLAN_METRICS
from orchestai_core.export import write_jsonl
from orchestai_core.outcomes.report import thin_note
from orchestai_core.synth import generate_logs


@pytest.fixture(scope="module")
def logs():
    return list(generate_logs(60, seed=9))


@pytest.fixture
def fake_planner(monkeypatch, logs):
    planner = TruthPlanner(logs, load_catalogue())
    monkeypatch.setattr("orchestai_core.cli.model._planner", lambda *args, **kwargs: planner)
    return planner


def _write(path, logs, extra_lines=()):
    write_jsonl(logs, path)
    if extra_lines:
        with open(path, "a") as fh:
            fh.writelines(line + "\n" for line in extra_lines)
    return str(path)


def _eval(*args):
    return CliRunner().invoke(main, ["eval", "--checkpoint", "unused.pth", *args])


def test_policy_json_holds_estimates_calibration_curve_and_choices(tmp_path, logs, fake_planner):
    data = _write(tmp_path / "held.jsonl", logs, ['{"id": "broken"}'])
    result = _eval("--data", data, "--policy", "outcome", "--cost-weight", "2", "--bootstrap", "20", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["policy"] == "outcome" and report["cost_weight"] == 2.0
    assert set(report["estimates"]) == {"success", "cost", "latency"}
    assert set(report["estimates"]["success"]) == {"ips", "snips", "dr", "logged"}
    assert {"estimate", "low", "high"} <= set(report["estimates"]["cost"]["dr"])
    assert set(report["calibration"]) == {"plain", "weighted"} and report["calibration"]["plain"]["bins"]
    labels = [p["label"] for p in report["curve"]["points"]]
    assert "w=0" in labels and "uniform" in labels and "logging" in labels
    assert [lb for lb in labels if lb.startswith("only:")] == [f"only:{w}" for w in fake_planner.worker_names]
    assert report["skipped"] == 1 and report["skipped_lines"][0]["line"] == len(logs) + 1
    assert report["steps"] > 0 and 0 < report["effective_steps"] < report["steps"]
    # no other note: every step has its choice_prob (a small evaluation may rest on few effective steps)
    assert report["notes"] == [n for n in (thin_note(report["effective_steps"], report["steps"]),) if n]


def test_policy_text_names_estimators_calibration_and_curve(tmp_path, logs, fake_planner):
    result = _eval("--data", _write(tmp_path / "held.jsonl", logs), "--policy", "outcome", "--bootstrap", "20")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "learned policy: utility selection at cost weight 0" in out
    for text in ("ips", "snips", "dr", "logging policy", "success rate", "cost $/step", "latency ms/step",
                 "calibration of p_success", "ECE", "cost–quality curve (dr estimates)", "only:gpt-4o",
                 "uniform", "workers, learned:", "effective steps"):
        assert text in out, text
    assert re.search(r"its estimates rest on about [\d,]+ effective logged steps", out)
    steps = re.search(r"logs, ([\d,]+) executed steps", out).group(1)
    logging_row = next(line for line in out.splitlines() if line.strip().startswith("logging "))
    assert logging_row.rstrip().endswith(steps)  # the logging policy's own estimate rests on every step


def test_logs_without_choice_prob_state_the_fallback(tmp_path, logs, fake_planner):
    bare = copy.deepcopy(logs)
    for log in bare:
        for task in log["subtasks"]:
            task.pop("choice_prob", None)
    result = _eval("--data", _write(tmp_path / "bare.jsonl", bare), "--policy", "outcome", "--bootstrap", "10")
    assert result.exit_code == 0, result.output
    assert "note: No step carries choice_prob: the logging policy's probability there is estimated" in result.output


def test_policy_on_a_worker_the_checkpoint_does_not_know_is_one_line(tmp_path, logs, fake_planner):
    odd = copy.deepcopy(logs[:3])
    odd[0]["subtasks"][0]["worker"] = "someone-else"
    result = _eval("--data", _write(tmp_path / "odd.jsonl", odd), "--policy", "outcome")
    assert result.exit_code == 1
    assert "Error: log" in result.output and "'someone-else' is not among the" in result.output
    assert "Traceback" not in result.output


def test_policy_needs_a_checkpoint_with_an_outcome_model(tmp_path, logs, monkeypatch):
    monkeypatch.setattr("orchestai_core.cli.model._planner", lambda *a, **k: object())
    result = _eval("--data", _write(tmp_path / "held.jsonl", logs), "--policy", "outcome")
    assert result.exit_code == 1 and "has no outcome model" in result.output


def test_plain_eval_adds_the_calibration_line_and_json_key(tmp_path, logs, fake_planner, monkeypatch):
    plan_metrics = {"n": len(logs), "dag_validity": 1.0, "node_f1": 1.0, "edge_f1": 1.0, "exact_match": 1.0,
                    "worker_accuracy": 0.5, "worker_accuracy_preferred": 0.75, "raw_acyclic": 1.0,
                    "per_template": {}, "cut": [],
                    "baseline": {k: 0.5 for k in ("dag_validity", "node_f1", "edge_f1", "exact_match",
                                                  "worker_accuracy", "worker_accuracy_preferred")}}
    monkeypatch.setattr("orchestai_core.evaluate.evaluate_planner", lambda planner, examples: dict(plan_metrics))
    data = _write(tmp_path / "held.jsonl", logs)
    text = _eval("--data", data)
    assert text.exit_code == 0, text.output
    line = [ln for ln in text.output.splitlines() if ln.startswith("calibration of p_success")]
    assert len(line) == 1 and "ECE" in line[0] and "weighted by 1/choice_prob" in line[0]
    own = [ln for ln in text.output.splitlines() if ln.strip().startswith("own choices")]
    assert len(own) == 1 and own[0].split()[2:4] == ["0.750", "0.500"] and "choice_prob > 0.5" in own[0]
    as_json = json.loads(_eval("--data", data, "--json").output)
    assert as_json["calibration"]["plain"]["ece"] < 0.1 and as_json["node_f1"] == 1.0


def test_plain_eval_of_a_checkpoint_without_outcome_model_has_no_calibration(tmp_path, logs, monkeypatch):
    monkeypatch.setattr("orchestai_core.cli.model._planner", lambda *a, **k: object())
    monkeypatch.setattr("orchestai_core.evaluate.evaluate_planner", lambda planner, examples: {
        "n": 1, "dag_validity": 1.0, "node_f1": 1.0, "edge_f1": 1.0, "exact_match": 1.0, "worker_accuracy": 1.0,
        "raw_acyclic": 1.0, "per_template": {}, "cut": [], "baseline": {}})
    result = _eval("--data", _write(tmp_path / "held.jsonl", logs[:2]), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["calibration"] is None
    monkeypatch.setattr("orchestai_core.evaluate.evaluate_planner", lambda planner, examples: {
        "n": 1, **dict.fromkeys(PLAN_METRICS, 1.0), "worker_accuracy_preferred": None, "raw_acyclic": 1.0,
        "per_template": {}, "cut": [], "baseline": dict.fromkeys(PLAN_METRICS, 0.5)})
    plain = _eval("--data", _write(tmp_path / "held.jsonl", logs[:2]))  # logs without choice_prob: no such line
    assert plain.exit_code == 0, plain.output
    assert "worker_accuracy" in plain.output and "own choices" not in plain.output


def test_policy_on_a_trained_tiny_checkpoint(tmp_path, tiny_checkpoint):
    data = _write(tmp_path / "held.jsonl", list(generate_logs(12, seed=31)))
    result = CliRunner().invoke(main, ["eval", "--checkpoint", str(tiny_checkpoint), "--data", data, "--policy",
                                       "outcome", "--cost-weight", "0.5", "--bootstrap", "10", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["steps"] > 0 and report["workers"]
    assert report["estimates"]["success"]["dr"]["estimate"] is not None
    assert report["calibration"]["plain"]["n"] == report["steps"]
