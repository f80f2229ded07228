"""Off-policy estimates of utility-based worker selection against the synthetic generator's ground truth.

    python benchmarks/policy_eval_bench.py --logs 500 --seed 7

On `--logs` fresh synthetic logs of `--seed`, the executed steps are the held-out decisions. Two outcome
models predict success, cost and latency for every worker: `oracle` (the generator's true success
probability and expected cost; expected latency from the catalogue's profile, approximately), and `fitted`
(per (step type, worker) averages of the logged outcomes of `--fit-logs` logs of another seed, blind to how
hard each request is; pairs never logged get a 0.5 success prior and the catalogue's list-price cost). For
each cost weight, the policy is the per-step utility argmax of that model's predictions; the JSON line gives
its true success rate and cost per step next to the DR (with interval), IPS and SNIPS estimates, the logging
policy's true figures, and whether some weight reaches true success ≥ the logging policy's at ≤ 60 % of its
cost (and whether the DR estimates alone would have said so).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict

import numpy as np

from orchestai_core.catalogue import load_catalogue
from orchestai_core.outcomes import evaluate_policy, logged_outcomes, model_policy, steps_from_logs
from orchestai_core.synth import expected_cost, generate_logs, logging_distribution, success_matrix
from orchestai_core.synth.simulate import FAILED_OUTPUT, TOKEN_SIGMA
from orchestai_core.synth.tasks import TASK_TYPES

WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
COST_SHARE = 0.6
PRIOR_SUCCESS, PRIOR_COUNT = 0.5, 2.0


def expected_latency(task_type: str, worker, p_success: float) -> float:
    """Expected latency of a run, from the catalogue's profile and the simulator's token spread and early stop
    on failure (rounding of token counts ignored)."""
    spread = math.exp(TOKEN_SIGMA ** 2 / 2)
    tokens_out = TASK_TYPES[task_type].tokens_out * spread * (p_success + (1 - p_success) / FAILED_OUTPUT)
    return worker.latency_ms(tokens_out) * math.exp(worker.latency_jitter ** 2 / 2)


def truth(logs, positions, catalogue):
    """True success probability, expected cost and latency (n×k), and the logging distribution, per step."""
    names = catalogue.names()
    p, cost, latency, logging = [], [], [], []
    matrices = {}
    for li, si in positions:
        log = logs[li]
        matrix = matrices.setdefault(li, success_matrix(log, catalogue))
        row = [matrix[si][w] for w in names]
        p.append(row)
        cost.append([expected_cost(log, si, w, catalogue) for w in names])
        task_type = log["subtasks"][si]["type"]
        latency.append([expected_latency(task_type, catalogue.get(w), q) for w, q in zip(names, row)])
        dist = logging_distribution(log, si, catalogue)
        logging.append([dist[w] for w in names])
    return np.array(p), np.array(cost), np.array(latency), np.array(logging)


def fitted_model(fit_logs, logs, positions, catalogue):
    """Per (type, worker) means of the logged outcomes of `fit_logs`, predicted for the steps at `positions`."""
    sums = defaultdict(lambda: np.zeros(4))  # successes, cost, latency, count
    for log in fit_logs:
        for task in log["subtasks"]:
            if task["status"] in ("success", "failed"):
                sums[(task["type"], task["worker"])] += (task["status"] == "success", task["cost_usd"],
                                                          task["latency_ms"], 1)
    p, cost, latency = [], [], []
    for li, si in positions:
        task_type = logs[li]["subtasks"][si]["type"]
        info = TASK_TYPES[task_type]
        rows = ([], [], [])
        for worker in catalogue.workers:
            s, c, lat, n = sums[(task_type, worker.name)]
            rows[0].append((s + PRIOR_SUCCESS * PRIOR_COUNT) / (n + PRIOR_COUNT))
            rows[1].append(c / n if n else worker.cost_usd(info.tokens_in, info.tokens_out))
            rows[2].append(lat / n if n else worker.latency_ms(info.tokens_out))
        for values, row in zip((p, cost, latency), rows):
            values.append(row)
    return np.array(p), np.array(cost), np.array(latency)


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def evaluate_model(steps, model, true_p, true_cost, base, n_bootstrap: int, seed: int) -> dict:
    """Per weight: true success and cost per step of the model's policy beside its estimates."""
    outcomes = logged_outcomes(steps, *model)
    rows = np.arange(len(outcomes))
    per_weight, reached, dr_says = {}, [], []
    for weight in WEIGHTS:
        policy = model_policy(outcomes, weight)
        chosen = policy.argmax(axis=1)
        table = evaluate_policy(outcomes, policy, n_bootstrap=n_bootstrap, seed=seed)
        entry = {}
        for metric, true_values, digits in (("success", true_p, 4), ("cost", true_cost, 7)):
            true_value = true_values[rows, chosen].mean()
            dr = table.value(metric, "dr")
            entry[metric] = {"true": _r(true_value, digits), "dr": _r(dr.estimate, digits),
                             "dr_interval": [_r(dr.low, digits), _r(dr.high, digits)],
                             "dr_covers": bool(dr.low <= true_value <= dr.high),
                             "ips": _r(table.value(metric, "ips").estimate, digits),
                             "snips": _r(table.value(metric, "snips").estimate, digits)}
        entry["true_cost_vs_logging"] = _r(entry["cost"]["true"] / base["cost"], 3)
        per_weight[f"w={weight:g}"] = entry
        if entry["success"]["true"] >= base["success"] and entry["cost"]["true"] <= COST_SHARE * base["cost"]:
            reached.append(weight)
        if entry["success"]["dr"] >= base["logged_success"] and entry["cost"]["dr"] <= COST_SHARE * base["logged_cost"]:
            dr_says.append(weight)
    return {"weights": per_weight, "target_reached_at": reached, "dr_estimates_reach_target_at": dr_says}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fit-logs", type=int, default=1000)
    parser.add_argument("--fit-seed", type=int, default=8)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    catalogue = load_catalogue()

    logs = list(generate_logs(args.logs, args.seed, catalogue))
    steps, positions = steps_from_logs(logs, catalogue.names())
    true_p, true_cost, true_latency, logging = truth(logs, positions, catalogue)
    base = {"success": _r((logging * true_p).sum(axis=1).mean()),
            "cost": _r((logging * true_cost).sum(axis=1).mean(), 7),
            "logged_success": _r(steps.success.mean()), "logged_cost": _r(steps.cost.mean(), 7)}
    fit = fitted_model(list(generate_logs(args.fit_logs, args.fit_seed, catalogue)), logs, positions, catalogue)
    models = {"oracle": (true_p, true_cost, true_latency), "fitted": fit}
    result = {name: evaluate_model(steps, model, true_p, true_cost, base, args.bootstrap, args.seed)
              for name, model in models.items()}
    print(json.dumps({"bench": "policy_eval", "seed": args.seed, "logs": len(logs), "steps": len(steps),
                      "fit": {"logs": args.fit_logs, "seed": args.fit_seed}, "cost_share": COST_SHARE,
                      "logging_true": {"success": base["success"], "cost": base["cost"]},
                      "logging_logged": {"success": base["logged_success"], "cost": base["logged_cost"]},
                      "models": result}))


if __name__ == "__main__":
    main()
