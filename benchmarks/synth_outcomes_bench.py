"""What the synthetic corpus leaves to learn: its logged outcomes, and the true success and cost of routing
policies on a fresh synthetic set.

    python benchmarks/synth_outcomes_bench.py --seed 7 --logs 500

`corpus`: the bundled corpus's figures as the generator gives them (`--corpus-n`, `--corpus-seed`): success
rate of executed sub-tasks and of logs, share of exploratory choices (worker other than the expert's), mean
cost per log and per sub-task. `policies`: on `--logs` fresh logs of `--seed`, each policy's true mean
success probability per step (its inputs given), true probability that a whole log succeeds (product over
its steps), and expected cost per step, from the generator's ground truth: the logging policy, every
single worker used everywhere, and an oracle that knows the truth and picks, per step, the worker with
the highest p_success − w·cost (w in USD⁻¹), and a type oracle that picks one worker per (type, mode)
by the same rule on the set's true means, blind to the request's difficulty. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics

from orchestai_core.catalogue import load_catalogue
from orchestai_core.synth import generate_logs
from orchestai_core.synth.policy import expert_worker
from orchestai_core.synth.truth import expected_cost, logging_distribution, success_matrix

ORACLE_WEIGHTS = (0.0, 3.0, 10.0, 30.0, 100.0, 300.0)


def corpus_figures(logs: list[dict], catalogue) -> dict:
    """Headline figures of a generated corpus, from its logged outcomes."""
    steps = [(s, log["meta"]["mode"]) for log in logs for s in log["subtasks"]]
    run = [s for s, _ in steps if s["status"] != "skipped"]
    explored = sum(s["worker"] != expert_worker(s["type"], mode, catalogue).name for s, mode in steps)
    return {"logs": len(logs), "subtasks": len(steps),
            "subtask_success": round(sum(s["status"] == "success" for s in run) / len(run), 4),
            "subtasks_skipped": round(1 - len(run) / len(steps), 4),
            "log_success": round(sum(log["success"] for log in logs) / len(logs), 4),
            "explored": round(explored / len(steps), 4),
            "cost_per_log": round(statistics.mean(log["total_cost_usd"] for log in logs), 6),
            "cost_per_subtask": round(sum(s["cost_usd"] for s in run) / len(steps), 6)}


def cost_matrix(log: dict, catalogue) -> list[dict[str, float]]:
    """Expected cost of every worker on every step of a log."""
    return [{w: expected_cost(log, i, w, catalogue) for w in catalogue.names()} for i in range(len(log["subtasks"]))]


def score(logs: list[dict], tables: list[tuple[list[dict], list[dict]]], pick) -> dict:
    """True figures of a policy given as pick(log, i, p_row, cost_row) -> {worker: probability}."""
    p_steps, costs, p_logs = [], [], []
    for log, (p_rows, cost_rows) in zip(logs, tables):
        log_p = 1.0
        for i, (p_row, cost_row) in enumerate(zip(p_rows, cost_rows)):
            dist = pick(log, i, p_row, cost_row)
            p = sum(q * p_row[w] for w, q in dist.items())
            p_steps.append(p)
            costs.append(sum(q * cost_row[w] for w, q in dist.items()))
            log_p *= p
        p_logs.append(log_p)
    return {"step_success": round(statistics.mean(p_steps), 4), "log_success": round(statistics.mean(p_logs), 4),
            "cost_per_step": round(statistics.mean(costs), 6)}


def oracle(weight: float):
    def pick(log, i, p_row, cost_row):
        return {max(p_row, key=lambda w: (p_row[w] - weight * cost_row[w], -cost_row[w])): 1.0}
    return pick


def type_oracle(logs: list[dict], tables, weight: float):
    """Knows each type's true mean success and cost per worker over the set, but not the request: one worker
    per (type, mode), the highest mean p_success − w·cost. What ignoring the request's difficulty costs."""
    sums: dict[tuple[str, str], dict[str, list[float]]] = {}
    for log, (p_rows, cost_rows) in zip(logs, tables):
        for task, p_row, cost_row in zip(log["subtasks"], p_rows, cost_rows):
            cell = sums.setdefault((task["type"], log["meta"]["mode"]), {w: [0.0, 0] for w in p_row})
            for w in p_row:
                cell[w][0] += p_row[w] - weight * cost_row[w]
                cell[w][1] += 1
    best = {key: max(cell, key=lambda w: cell[w][0] / cell[w][1]) for key, cell in sums.items()}

    def pick(log, i, p_row, cost_row):
        return {best[(log["subtasks"][i]["type"], log["meta"]["mode"])]: 1.0}
    return pick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--logs", type=int, default=500)
    parser.add_argument("--corpus-seed", type=int, default=0)
    parser.add_argument("--corpus-n", type=int, default=1000)
    args = parser.parse_args()
    catalogue = load_catalogue()

    corpus = corpus_figures(list(generate_logs(args.corpus_n, args.corpus_seed, catalogue)), catalogue)
    logs = list(generate_logs(args.logs, args.seed, catalogue))
    tables = [(success_matrix(log, catalogue), cost_matrix(log, catalogue)) for log in logs]
    policies = {"logging": score(logs, tables, lambda log, i, p, c: logging_distribution(log, i, catalogue))}
    for name in catalogue.names():
        policies[f"only:{name}"] = score(logs, tables, lambda log, i, p, c, name=name: {name: 1.0})
    for weight in ORACLE_WEIGHTS:
        policies[f"oracle:w={weight:g}"] = score(logs, tables, oracle(weight))
    for weight in ORACLE_WEIGHTS:
        policies[f"type_oracle:w={weight:g}"] = score(logs, tables, type_oracle(logs, tables, weight))
    base = policies["logging"]
    for figures in policies.values():
        figures["cost_vs_logging"] = round(figures["cost_per_step"] / base["cost_per_step"], 3) \
            if not math.isclose(base["cost_per_step"], 0) else None
    print(json.dumps({"bench": "synth_outcomes", "seed": args.seed, "logs": len(logs),
                      "steps": sum(len(log["subtasks"]) for log in logs), "corpus": corpus, "policies": policies}))


if __name__ == "__main__":
    main()
