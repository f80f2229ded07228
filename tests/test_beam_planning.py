"""The decoding width at planning time: the checkpoint's by default, chosen per planner or per command,
and refused clearly when it is not a width."""

import json

import pytest
import torch
from click.testing import CliRunner

from orchestai_core.cli import main
from orchestai_core.dag import find_cycle, parent_indices
from orchestai_core.export import write_jsonl
from orchestai_core.model.planner import PlannerConfig
from orchestai_core.planner_api import Planner
from orchestai_core.synth import generate_logs

TEXTS = ["Translate the user manual into French and German", "Fix the crash on empty uploads",
         "Research three vendors for our CRM migration, then email the result to Maria"]


def test_the_planner_uses_the_checkpoints_beam_unless_told_otherwise(tiny_checkpoint):
    state = torch.load(tiny_checkpoint, map_location="cpu", weights_only=False)
    assert Planner.load(tiny_checkpoint, "cpu").beam == PlannerConfig.from_dict(state["model_config"]).beam == 3
    assert Planner.load(tiny_checkpoint, "cpu", beam=1).beam == 1


@pytest.mark.parametrize("beam", [1, 2, 5])
def test_every_width_plans_dags_of_known_types_and_workers(tiny_checkpoint, beam):
    planner = Planner.load(tiny_checkpoint, "cpu", beam=beam)
    plans = planner.plan_batch(TEXTS)
    for plan in plans:
        assert plan["meta"]["beam"] == beam  # a plan says how it was decoded
        assert plan["subtasks"] and find_cycle(parent_indices(plan["subtasks"])) is None
        assert {s["type"] for s in plan["subtasks"]} <= set(planner.types.items)
        assert all(s["worker"] in planner.workers.items for s in plan["subtasks"])
    alone = [planner.plan(t)["subtasks"] for t in TEXTS]  # the same plans alone or in a batch: padding changes
    noisy = ("worker_probs", "worker_outcomes", "p_success", "est_cost_usd", "est_latency_ms")
    for batched, single in zip([p["subtasks"] for p in plans], alone):  # the last bits of a float, nothing more
        assert [{k: v for k, v in s.items() if k not in noisy} for s in batched] == \
            [{k: v for k, v in s.items() if k not in noisy} for s in single]
        for a, b in zip(batched, single):
            assert a["worker_probs"].keys() == b["worker_probs"].keys()
            assert all(abs(a["worker_probs"][w] - b["worker_probs"][w]) <= 2e-3 for w in a["worker_probs"])
            assert a["worker_outcomes"].keys() == b["worker_outcomes"].keys()
            assert a["p_success"] == pytest.approx(b["p_success"], abs=2e-3)
            assert a["est_cost_usd"] == pytest.approx(b["est_cost_usd"], rel=2e-3)
            assert a["est_latency_ms"] == pytest.approx(b["est_latency_ms"], rel=2e-3)


def test_one_call_can_choose_its_own_width(tiny_checkpoint):
    planner = Planner.load(tiny_checkpoint, "cpu")
    greedy = Planner.load(tiny_checkpoint, "cpu", beam=1)
    plan = planner.plan(TEXTS[2], beam=1)
    assert plan["meta"]["beam"] == 1 and plan["subtasks"] == greedy.plan(TEXTS[2])["subtasks"]
    assert [p["meta"]["beam"] for p in planner.plan_batch(TEXTS, beam=2)] == [2, 2, 2]
    assert planner.beam == 3 and planner.plan(TEXTS[0])["meta"]["beam"] == 3  # the call did not change the planner
    with pytest.raises(ValueError, match=r"beam must be a whole number from 1 \(greedy\) to 32, got 0"):
        planner.plan(TEXTS[0], beam=0)


@pytest.mark.parametrize("beam", [0, -1, 33, 2.5, True])
def test_a_width_that_is_not_one_is_refused_before_loading(tiny_checkpoint, beam):
    with pytest.raises(ValueError, match=r"beam must be a whole number from 1 \(greedy\) to 32, got"):
        Planner.load(tiny_checkpoint, "cpu", beam=beam)


@pytest.mark.parametrize("beam", [0, "wide", 33])
def test_a_config_with_a_bad_beam_is_refused(beam):
    with pytest.raises(ValueError, match=r"model.beam must be a whole number from 1 \(greedy\) to 32, got"):
        PlannerConfig.from_dict({"beam": beam})


def test_cli_plan_and_eval_take_a_beam(tiny_checkpoint, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["plan", "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--beam", "1",
                                  TEXTS[2]])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["subtasks"] and find_cycle(parent_indices(plan["subtasks"])) is None
    result = runner.invoke(main, ["plan", "--checkpoint", str(tiny_checkpoint), "--beam", "0", TEXTS[0]])
    assert result.exit_code == 2 and "--beam" in result.output and "0 is not in the range 1<=x<=32" in result.output
    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(4, seed=5), data)
    result = runner.invoke(main, ["eval", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--json",
                                  "--device", "cpu", "--beam", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dag_validity"] == 1.0


def test_eval_names_the_logs_whose_instruction_the_planner_truncates(tiny_checkpoint, tmp_path):
    logs = list(generate_logs(3, seed=5))
    for log in logs:
        log["instruction"] = "Translate the memo into French."
    logs[1]["instruction"] = "Translate the memo into French, then email it to Maria. " * 8  # over 64 tokens
    data = tmp_path / "logs.jsonl"
    write_jsonl(logs, data)
    runner = CliRunner()
    result = runner.invoke(main, ["eval", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    message = (f"1 of 3 instructions are longer than the encoder reads (64 tokens, encoder.max_length) and are "
               f"truncated: {logs[1]['id']}")
    assert json.loads(result.stdout)["cut"] == [message]
    result = runner.invoke(main, ["eval", "--checkpoint", str(tiny_checkpoint), "--data", str(data)])
    assert result.exit_code == 0 and f"warning: {message}" in result.output
