"""The planner's outcome model on real outcomes: RouteLLM MMLU, trained on logs of one worker per question.

    python benchmarks/routellm_bench.py --data ../shared/data/routellm-mmlu --work /tmp/routellm-bench

The 14,042 questions are logged with the seeded exploring logging policy of `ope_bench.py` (long questions
lean to the strong worker, each worker keeps ≥ 15 %; `choice_prob` recorded) as v1.1 logs
(`routellm.execution_logs`). A seeded shuffle takes `--train` logs to train on and the next `--dev` to
measure on. 6,000 + 2,000: training the default recipe (frozen encoder, 50 epochs) on 6,000 logs fits in
about a quarter of an hour on two CPU cores, and 2,000 dev questions put a success rate within about ±1.8
points (95 %). The planner trains with the default recipe through the CLI (`orchestai train`, a
subprocess). On the dev logs, with the full outcome matrix as truth, each cost weight's utility selection
gets its true success rate and cost per question beside its DR estimate (with interval) from the dev log
alone, set against always the strong worker (gpt-4), always the cheap one and the logging policy. The one
JSON line says whether some weight reaches the strong worker's success at ≤ 60 % of its cost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from orchestai_core.export import write_jsonl
from orchestai_core.outcomes import evaluate_policy, logged_outcomes, policy_matrix
from orchestai_core.outcomes.estimators import IPS, SNIPS, DoublyRobust
from orchestai_core.outcomes.policy_eval import DEFAULT_WEIGHTS
from orchestai_core.outcomes.report import step_predictions
from orchestai_core.outcomes.routellm import (
    CHEAP,
    STRONG,
    execution_logs,
    length_logging_policy,
    log_bandit,
    read_outcomes,
)

COST_SHARE = 0.6


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def split(n: int, n_train: int, n_dev: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return order[:n_train], order[n_train:n_train + n_dev]


def train(logs: list[dict], work: Path, epochs: int | None) -> tuple[Path, float, dict]:
    """Train with the default recipe through the CLI; the best checkpoint, seconds and the JSON summary."""
    data, out, db = work / "train.jsonl", work / "checkpoints", work / "bench.db"
    write_jsonl(logs, data)
    command = [sys.executable, "-m", "orchestai_core", "train", "--data", str(data), "--out", str(out),
               "--db", str(db), "--quiet", "--device", "cpu"]
    if epochs:
        command += ["--epochs", str(epochs)]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"training failed:\n{done.stderr[-3000:]}")
    return out / "phase1_best_model.pth", seconds, json.loads(done.stdout.strip().splitlines()[-1])


def measure(planner, outcomes, dev: np.ndarray, dev_logs: list[dict], n_bootstrap: int, seed: int) -> dict:
    """Per cost weight, true and DR-estimated success and cost per question of the utility selection."""
    predictions = step_predictions(planner, dev_logs)
    columns = [planner.worker_names.index(w) for w in outcomes.workers]  # the two workers, outcome order
    questions = dev[[li for li, _ in predictions.positions]]
    p, cost, latency = (a[:, columns] for a in (predictions.p, predictions.cost, predictions.latency))
    # the success the planner's selection ranks by (its pessimism), as a deployed planner would choose
    ranked = p if predictions.choose is None else predictions.choose[:, columns]
    steps = predictions.steps
    worker = np.array([columns.index(w) for w in steps.worker])
    from orchestai_core.outcomes.policy_eval import LoggedSteps

    steps = LoggedSteps(worker, steps.choice_prob, steps.success, steps.cost, steps.latency, steps.step_type,
                        log=steps.log)
    feedback = logged_outcomes(steps, p, cost, latency)
    true_success, true_cost = outcomes.success[questions], outcomes.cost_usd[questions]
    rows = np.arange(len(questions))
    singles = {name: {"success": _r(true_success[:, j].mean()), "cost": _r(true_cost[:, j].mean(), 7)}
               for j, name in enumerate(outcomes.workers)}
    strong = singles[STRONG]
    sweep, reached = {}, []
    for weight in DEFAULT_WEIGHTS:
        policy = policy_matrix(ranked, cost, latency, weight)
        choice = policy.argmax(axis=1)
        table = evaluate_policy({"success": feedback.success, "cost": feedback.cost}, policy,
                                estimators=(IPS(), SNIPS(), DoublyRobust()), n_bootstrap=n_bootstrap, seed=seed)
        entry = {"strong_share": _r((choice == 0).mean(), 3)}
        for metric, truth, digits in (("success", true_success, 4), ("cost", true_cost, 7)):
            dr = table.value(metric, "dr")
            value = truth[rows, choice].mean()
            entry[metric] = {"true": _r(value, digits), "dr": _r(dr.estimate, digits),
                             "dr_interval": [_r(dr.low, digits), _r(dr.high, digits)],
                             "dr_covers": bool(dr.low <= value <= dr.high)}
        entry["cost_vs_strong"] = _r(entry["cost"]["true"] / strong["cost"], 3)
        sweep[f"w={weight:g}"] = entry
        if entry["success"]["true"] >= strong["success"] and entry["cost"]["true"] <= COST_SHARE * strong["cost"]:
            reached.append(weight)
    within = [e for e in sweep.values() if e["cost"]["true"] <= COST_SHARE * strong["cost"]]
    best_within = max((e["success"]["true"] for e in within), default=None)
    logging = {"success": _r(steps.success.mean()), "cost": _r(steps.cost.mean(), 7)}
    oracle = _r(true_success.max(axis=1).mean())
    p_logged = p[rows, worker]
    return {"dev_questions": len(questions), "singles": singles, "logging_logged": logging, "oracle_success": oracle,
            "sweep": sweep, "target_reached_at": reached,
            "best_true_success_within_60pct_of_strong_cost": best_within,
            "calibration_gap": _r(abs(p_logged.mean() - steps.success.mean()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/routellm-mmlu")
    parser.add_argument("--work", default="/tmp/routellm-bench", help="Folder for the logs, checkpoint and store.")
    parser.add_argument("--train", type=int, default=6000)
    parser.add_argument("--dev", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="Override the recipe's epochs (default: the recipe's).")
    parser.add_argument("--bootstrap", type=int, default=300)
    parser.add_argument("--checkpoint", help="Measure this checkpoint instead of training one.")
    args = parser.parse_args()
    from orchestai_core.planner_api import Planner

    outcomes = read_outcomes(args.data)
    bandit = log_bandit(outcomes, length_logging_policy(outcomes), seed=args.seed)
    logs = execution_logs(outcomes, bandit)
    train_idx, dev = split(len(logs), args.train, args.dev, args.seed)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.checkpoint:
        checkpoint, seconds, summary = Path(args.checkpoint), 0.0, {}
    else:
        checkpoint, seconds, summary = train([logs[i] for i in train_idx], work, args.epochs)
    planner = Planner.load(checkpoint, "cpu")
    result = measure(planner, outcomes, dev, [logs[i] for i in dev], args.bootstrap, args.seed)
    print(json.dumps({"bench": "routellm", "seed": args.seed, "train_logs": len(train_idx), "cost_share": COST_SHARE,
                      "strong": STRONG, "cheap": CHEAP, "train_seconds": _r(seconds, 1),
                      "epochs": summary.get("epochs", summary.get("epoch")), "checkpoint": str(checkpoint),
                      **result}))


if __name__ == "__main__":
    main()
