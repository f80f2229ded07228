"""Worker selection in plans: by the utility of predicted outcomes with weights and budgets, or by imitation,
and every plan saying which."""

import json
import math

import pytest
import torch
from click.testing import CliRunner

from orchestai_core.checkpoints import load_checkpoint, save_checkpoint
from orchestai_core.cli import main
from orchestai_core.planner_api import NO_OUTCOMES, Planner
from workbench.services.planning import EXAMPLES

TEXT = EXAMPLES[1]


@pytest.fixture(scope="module")
def planner(tiny_checkpoint):
    return Planner.load(tiny_checkpoint, "cpu")


def test_a_planner_trained_on_outcomes_chooses_by_utility_and_gives_outcome_estimates(planner):
    assert planner.has_outcomes and planner.selection == "outcome"
    plan = planner.plan(TEXT)
    assert plan["meta"]["selection"] == "outcome" and "selection_note" not in plan["meta"]
    product = 1.0
    for task in plan["subtasks"]:
        chosen = task["worker_outcomes"][task["worker"]]
        assert task["p_success"] == chosen["p_success"] and task["est_cost_usd"] == chosen["est_cost_usd"]
        assert task["est_latency_ms"] == chosen["est_latency_ms"]
        # weight 0: the highest pessimistic success, p − 1 standard error of a rate seen on logged_runs runs
        lowered = {w: o["p_success"] - math.sqrt(o["p_success"] * (1 - o["p_success"]) / (o["logged_runs"] + 1))
                   for w, o in task["worker_outcomes"].items()}
        assert lowered[task["worker"]] == pytest.approx(max(lowered.values()), abs=1e-3)
        product *= task["p_success"]
    assert plan["p_success"] == pytest.approx(product, abs=1e-3)
    assert plan["meta"]["pessimism"] == 1.0


def test_the_pessimism_setting_decides_how_far_a_rarely_run_worker_is_distrusted(tiny_checkpoint):
    plain = Planner.load(tiny_checkpoint, "cpu", pessimism=0)
    wary = Planner.load(tiny_checkpoint, "cpu", pessimism=3)
    changed = 0
    for text in EXAMPLES[:4]:
        alone, careful = plain.plan(text), wary.plan(text)
        for task in alone["subtasks"]:  # the likeliest worker
            assert task["p_success"] == max(o["p_success"] for o in task["worker_outcomes"].values())
        for task in careful["subtasks"]:
            lowered = {w: max(0.0, o["p_success"] - 3 * math.sqrt(o["p_success"] * (1 - o["p_success"])
                                                                   / (o["logged_runs"] + 1)))
                       for w, o in task["worker_outcomes"].items()}
            assert lowered[task["worker"]] == pytest.approx(max(lowered.values()), abs=2e-3)
        changed += [s["worker"] for s in alone["subtasks"]] != [s["worker"] for s in careful["subtasks"]]
    assert changed  # on the tiny planner some step trades a rarely run worker for a well-run one
    with pytest.raises(ValueError, match="pessimism must be a number ≥ 0"):
        Planner.load(tiny_checkpoint, "cpu", pessimism=-1)


def test_the_cost_weight_changes_the_workers_and_lowers_the_cost(planner):
    plans = [planner.plan(TEXT, cost_weight=w) for w in (0.0, 2.5, 5.0)]
    workers = [[s["worker"] for s in p["subtasks"]] for p in plans]
    assert workers[0] != workers[1]
    costs = [p["est_cost_usd"] for p in plans]
    assert costs[0] > costs[1] >= costs[2]
    assert plans[0]["p_success"] >= plans[1]["p_success"] >= plans[2]["p_success"]


def test_budgets_are_never_exceeded_when_a_plan_can_keep_them(planner):
    texts = EXAMPLES[:4]
    free = planner.plan_batch(texts)
    cheapest = planner.plan_batch(texts, cost_weight=1000.0)
    # costs are shown rounded: a budget between the cheapest and the free plan only means something where they differ
    spread = [(f, c) for f, c in zip(free, cheapest) if f["est_cost_usd"] > c["est_cost_usd"] * 1.01]
    assert spread
    for f, c in spread:
        for share in (0.9, 0.5, 0.1):
            budget = c["est_cost_usd"] + share * (f["est_cost_usd"] - c["est_cost_usd"])
            plan = planner.plan(f["instruction"], budget_usd=budget)
            assert plan["meta"]["budget"]["feasible"] and plan["est_cost_usd"] <= budget * (1 + 1e-3)
        fast = planner.plan(f["instruction"], latency_weight=1000.0)["est_latency_ms"]
        budget = (fast + f["est_latency_ms"]) / 2
        plan = planner.plan(f["instruction"], budget_latency_ms=budget)
        assert plan["meta"]["budget"]["feasible"] and plan["est_latency_ms"] <= budget + 0.1


def test_a_budget_no_plan_can_keep_is_reported_not_raised(planner):
    plan = planner.plan(TEXT, budget_usd=1e-12)
    budget = plan["meta"]["budget"]
    assert budget["usd"] == 1e-12 and not budget["feasible"] and "cheapest" in budget["violations"][0]


def test_imitation_takes_the_selectors_choice(tiny_checkpoint, planner):
    imitation = Planner.load(tiny_checkpoint, "cpu", selection="imitation")
    plan = imitation.plan(TEXT)
    assert plan["meta"]["selection"] == "imitation"
    decoded = imitation.decode_batch([TEXT])[0]
    assert [s["worker"] for s in plan["subtasks"]] == decoded.graph.workers
    assert "p_success" in plan  # the outcome model still estimates the imitation's choices


def test_a_checkpoint_whose_training_saw_no_outcome_plans_by_imitation_and_says_so(tiny_checkpoint, tmp_path):
    checkpoint = load_checkpoint(tiny_checkpoint)
    checkpoint.outcome_steps = 0
    save_checkpoint(checkpoint, tmp_path / "no-outcomes.pth")
    planner = Planner.load(tmp_path / "no-outcomes.pth", "cpu")
    plan = planner.plan(TEXT, cost_weight=2.5)
    assert planner.selection == "imitation" and plan["meta"]["selection"] == "imitation"
    assert plan["meta"]["selection_note"] == NO_OUTCOMES
    assert "p_success" not in plan and all("p_success" not in s for s in plan["subtasks"])
    assert [s["est_cost_usd"] for s in plan["subtasks"]] == \
        [float(f"{planner.stats.estimate(s['type'], s['worker'])[0]:.4g}") for s in plan["subtasks"]]


def test_weights_budgets_and_selection_are_checked(tiny_checkpoint, planner):
    with pytest.raises(ValueError, match="cost_weight"):
        planner.plan(TEXT, cost_weight=-1)
    with pytest.raises(ValueError, match="budget_usd"):
        planner.plan(TEXT, budget_usd=float("nan"))
    with pytest.raises(ValueError, match="selection"):
        Planner.load(tiny_checkpoint, "cpu", selection="random")


def test_plan_command_takes_weights_budgets_and_selection(tiny_checkpoint):
    runner = CliRunner()
    args = ["plan", "--checkpoint", str(tiny_checkpoint), TEXT, "--cost-weight", "2.5", "--latency-weight", "0.5",
            "--budget-usd", "0.5", "--budget-latency-ms", "1e9"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout.strip().splitlines()[-1])
    assert plan["meta"]["selection"] == "outcome" and plan["meta"]["cost_weight"] == 2.5
    assert plan["meta"]["latency_weight"] == 0.5 and plan["meta"]["budget"]["feasible"]
    result = runner.invoke(main, ["plan", "--checkpoint", str(tiny_checkpoint), TEXT, "--selection", "imitation"])
    assert result.exit_code == 0
    assert json.loads(result.stdout.strip().splitlines()[-1])["meta"]["selection"] == "imitation"
    result = runner.invoke(main, ["plan", "--checkpoint", str(tiny_checkpoint), TEXT, "--budget-usd", "-1"])
    assert result.exit_code == 2


def test_training_records_outcome_steps_and_reports_outcome_losses_outside_the_validation_loss(tiny_checkpoint):
    checkpoint = load_checkpoint(tiny_checkpoint)
    assert checkpoint.outcome_steps > 0
    row = checkpoint.history[-1]
    assert {"outcome_success", "outcome_cost", "outcome_latency"} <= set(row)
    plain = row["types"] + row["workers"] + row["edges"] + checkpoint.train_config["lambda_dag"] * row["dag"]
    assert row["loss"] == pytest.approx(plain, rel=1e-5)


def test_logs_without_outcomes_train_no_outcome_steps(tmp_path, tiny_encoder):
    from planner_fixtures import tiny_model_config, tiny_train_config

    from orchestai_core.synth import generate_logs
    from orchestai_core.train import Phase1Trainer
    from orchestai_core.training_data import example_from_log

    logs = list(generate_logs(16, seed=3))
    for log in logs:
        for task in log["subtasks"]:
            task.pop("status", None)
    trainer = Phase1Trainer(tiny_train_config(num_epochs=1), tiny_model_config(tiny_encoder), tmp_path, "cpu",
                            progress=False)
    trainer.setup([example_from_log(log) for log in logs])
    trainer.train()
    assert load_checkpoint(tmp_path / "phase1_best_model.pth").outcome_steps == 0
    assert Planner.load(tmp_path / "phase1_best_model.pth", "cpu").plan(TEXT)["meta"]["selection"] == "imitation"


def test_learning_outcomes_leaves_the_planners_own_weights_exactly_as_without_them(tmp_path, tiny_encoder):
    from planner_fixtures import tiny_model_config, tiny_train_config

    from orchestai_core.synth import generate_logs
    from orchestai_core.train import Phase1Trainer
    from orchestai_core.training_data import example_from_log

    examples = [example_from_log(log) for log in generate_logs(24, seed=4)]
    weights = []
    for weight in (0.0, 1.0):
        trainer = Phase1Trainer(tiny_train_config(num_epochs=1, lambda_outcome=weight, weight_average=0.0),
                                tiny_model_config(tiny_encoder), tmp_path / str(weight), "cpu", progress=False)
        trainer.setup(examples)
        trainer.train()
        weights.append({k: v for k, v in trainer.model.trainable_state_dict().items() if not k.startswith("outcome.")})
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
