"""Consensus decoding in a trained planner: fitted at the end of training, kept in the checkpoint, and plans
that follow a training request's plan with workers chosen for the new instruction."""

from dataclasses import replace

import pytest
import torch

from orchestai_core.checkpoints import load_checkpoint, save_checkpoint
from orchestai_core.dag import find_cycle
from orchestai_core.evaluate import evaluate_planner
from orchestai_core.model.consensus import ConsensusSettings
from orchestai_core.planner_api import Planner
from orchestai_core.training_data import example_from_log


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint):
    return load_checkpoint(tiny_checkpoint)


def test_training_fits_consensus_and_keeps_one_vector_per_training_plan(checkpoint):
    entry = checkpoint.consensus
    assert entry is not None
    assert entry["vectors"].shape == (len(checkpoint.train_plans), 32)  # the tiny encoder's width
    assert torch.allclose(entry["vectors"].float().norm(dim=1), torch.ones(len(checkpoint.train_plans)), atol=1e-2)
    assert set(entry["validation"]) == {"off", "0.25", "0.4", "0.6"}
    best = max(entry["validation"].values(), key=lambda m: m["node_f1"] + m["edge_f1"])
    kept = entry["validation"]["off" if entry["model_weight"] is None else str(entry["model_weight"])]
    assert kept["node_f1"] + kept["edge_f1"] == pytest.approx(best["node_f1"] + best["edge_f1"])


def test_the_kept_vectors_are_the_planners_own_embeddings_of_the_training_requests(tiny_checkpoint, checkpoint):
    planner = Planner.load(tiny_checkpoint, "cpu")
    texts = [p["instruction"] for p in checkpoint.train_plans[:8]]
    assert torch.allclose(planner.embed(texts), checkpoint.consensus["vectors"][:8].float(), atol=2e-3)


def test_a_plan_that_loses_the_vote_becomes_the_training_plan_with_workers_for_this_instruction(tiny_checkpoint,
                                                                                               checkpoint):
    planner = Planner.load(tiny_checkpoint, "cpu", consensus=False)
    texts = [p["instruction"] for p in checkpoint.train_plans]
    # a training request the tiny model alone plans differently from its log
    source = next(p for p, d in zip(checkpoint.train_plans, planner.decode_batch(texts))
                  if (d.graph.types, d.graph.parents) != (p["types"], p["parents"]))
    planner.consensus = ConsensusSettings(model_weight=0.0, k=1)  # the nearest training plan wins unless equal
    plan = planner.plan(source["instruction"])
    assert plan["meta"]["follows"] == source["instruction"]  # its own request is its nearest
    assert [s["type"] for s in plan["subtasks"]] == source["types"]
    parents = [sorted(int(d[1:]) - 1 for d in s["depends_on"]) for s in plan["subtasks"]]
    assert parents == [sorted(p) for p in source["parents"]] and find_cycle(parents) is None
    for task in plan["subtasks"]:
        assert task["worker"] in planner.worker_names and 0.0 <= task["p_success"] <= 1.0
        assert task["worker"] in task["worker_outcomes"]


def test_consensus_off_keeps_the_models_plans_as_decoded(tiny_checkpoint, checkpoint):
    off = Planner.load(tiny_checkpoint, "cpu", consensus=False)
    assert not off.consensus.on
    alone = Planner.load(tiny_checkpoint, "cpu")
    alone.consensus = ConsensusSettings(None)
    texts = [p["instruction"] for p in checkpoint.train_plans[:6]]
    assert [d.graph for d in off.decode_batch(texts)] == [d.graph for d in alone.decode_batch(texts)]
    assert all(d.follows is None for d in off.decode_batch(texts))


def test_a_checkpoint_from_before_consensus_plans_alone_and_still_has_its_baseline(tmp_path, tiny_checkpoint,
                                                                                   checkpoint):
    old = tmp_path / "old.pth"
    save_checkpoint(replace(checkpoint, consensus=None), old)
    planner = Planner.load(old, "cpu")
    assert planner.index is None and not planner.consensus.on
    from orchestai_core.synth import generate_logs

    examples = [example_from_log(log) for log in generate_logs(6, seed=3)]
    result = evaluate_planner(planner, examples)
    assert result["n"] == 6 and result["baseline"]["n"] == 6


def test_cli_plan_and_eval_say_and_switch_consensus(tmp_path, checkpoint):
    import json

    from click.testing import CliRunner

    from orchestai_core.cli import main
    from orchestai_core.export import write_jsonl
    from orchestai_core.synth import generate_logs

    forced = tmp_path / "forced.pth"  # every plan follows its nearest training plan (unless the model's is the same)
    save_checkpoint(replace(checkpoint, consensus={**checkpoint.consensus, "model_weight": 0.0, "k": 1}), forced)
    source = checkpoint.train_plans[0]
    runner = CliRunner()
    on = runner.invoke(main, ["plan", "--checkpoint", str(forced), "--device", "cpu", source["instruction"]])
    assert on.exit_code == 0, on.output
    assert [s["type"] for s in json.loads(on.stdout)["subtasks"]] == source["types"]
    off = runner.invoke(main, ["plan", "--checkpoint", str(forced), "--device", "cpu", "--no-consensus",
                               source["instruction"]])
    assert off.exit_code == 0 and "follows" not in json.loads(off.stdout)["meta"]
    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(4, seed=5), data)
    text = runner.invoke(main, ["eval", "--checkpoint", str(forced), "--data", str(data), "--device", "cpu"])
    assert text.exit_code == 0, text.output
    assert "consensus decoding: on (the model's plan and its 1 nearest training plans vote; model weight 0.0)" \
        in text.output
    alone = runner.invoke(main, ["eval", "--checkpoint", str(forced), "--data", str(data), "--json",
                                 "--no-consensus"])
    assert alone.exit_code == 0 and json.loads(alone.stdout)["consensus"]["model_weight"] is None
