"""Planning with the frozen encoder in int8: valid plans of the same shape, refused where it cannot work."""

import json

import pytest
import torch
from click.testing import CliRunner

from orchestai_core.checkpoints import load_checkpoint
from orchestai_core.cli import main
from orchestai_core.dag import find_cycle, parent_indices
from orchestai_core.export import write_jsonl
from orchestai_core.model.encoder import InstructionEncoder
from orchestai_core.planner_api import Planner
from orchestai_core.synth import generate_logs

TEXTS = ["Translate the user manual into French and German", "Fix the crash on empty uploads",
         "Compare three vendors for our CRM migration and email the result to Maria"]


def _shape(plan: dict) -> tuple:
    return sorted(plan), sorted(plan["meta"]), [sorted(s) for s in plan["subtasks"][:1]]


def _fp32_linears(module: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in module.modules() if type(m) is torch.nn.Linear]


def test_int8_planner_quantizes_only_the_frozen_base_and_plans_valid_dags(tiny_checkpoint):
    fp32, int8 = Planner.load(tiny_checkpoint, "cpu"), Planner.load(tiny_checkpoint, "cpu", int8=True)
    assert not fp32.int8 and int8.int8
    kept = _fp32_linears(int8.encoder.model)
    assert len(kept) < len(_fp32_linears(fp32.encoder.model))
    assert kept and all(m.in_features > m.out_features for m in kept)  # only the feed-forward down-projections
    assert _fp32_linears(int8.model.decomposer)  # the trained heads stay fp32
    for a, b in zip(fp32.plan_batch(TEXTS), int8.plan_batch(TEXTS)):
        assert b["subtasks"] and find_cycle(parent_indices(b["subtasks"])) is None
        assert _shape(a) == _shape(b)
        assert all(s["worker"] in int8.workers.items for s in b["subtasks"])


def test_int8_init_option_matches_load_and_quantizing_twice_is_harmless(tiny_checkpoint):
    planner = Planner(load_checkpoint(tiny_checkpoint), "cpu", int8=True)
    planner.quantize()
    assert planner.int8 and planner.plan(TEXTS[0])["subtasks"]


def test_all_layers_quantizes_every_linear_of_the_base(tiny_encoder):
    encoder = InstructionEncoder.from_pretrained(tiny_encoder)
    encoder.quantize_frozen(all_layers=True)
    batch = encoder.tokenize(TEXTS)
    assert not _fp32_linears(encoder.model) and torch.isfinite(encoder(**batch)).all()


def test_int8_refuses_a_fine_tuned_encoder(tiny_encoder):
    encoder = InstructionEncoder.from_pretrained(tiny_encoder, finetune_layers=1)
    with pytest.raises(ValueError, match="int8 needs a frozen encoder"):
        encoder.quantize_frozen()
    assert not encoder.int8


def test_int8_refuses_an_encoder_off_the_cpu(tiny_encoder):
    encoder = InstructionEncoder.from_pretrained(tiny_encoder).to("meta")  # stands in for cuda here
    with pytest.raises(ValueError, match="runs on the CPU only; the encoder is on meta"):
        encoder.quantize_frozen()


def test_cli_plan_and_eval_take_int8(tiny_checkpoint, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["plan", "--checkpoint", str(tiny_checkpoint), "--device", "cpu", "--int8",
                                  TEXTS[0]])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["subtasks"] and find_cycle(parent_indices(plan["subtasks"])) is None
    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(6, seed=5), data)
    result = runner.invoke(main, ["eval", "--checkpoint", str(tiny_checkpoint), "--data", str(data), "--json",
                                  "--device", "cpu", "--int8"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 6 and metrics["dag_validity"] == 1.0
