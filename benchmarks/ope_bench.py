"""Off-policy estimates against the truth on real outcomes: RouteLLM's MMLU answered by a strong and a cheap LLM.

    python benchmarks/ope_bench.py --data /work/shared/data/routellm-mmlu --seed 0

Logs one worker per question with a seeded stochastic logging policy (long questions lean to the strong
worker; each worker keeps at least 15 %), fits reward models on that log alone (success: per subject and
worker, shrunk to the worker's mean; cost: per worker, linear in prompt tokens), and for a few target
policies prints the true success rate and cost per question next to the DM, IPS, SNIPS and DR estimates with
95 % bootstrap intervals, as one JSON line. `covered` counts the intervals that contain the truth.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from orchestai_core.outcomes.estimators import (
    IPS,
    SNIPS,
    DirectMethod,
    DoublyRobust,
    OffPolicyEvaluation,
    deterministic_policy,
)
from orchestai_core.outcomes.routellm import BanditLog, Outcomes, length_logging_policy, log_bandit, read_outcomes

EXPLORE = 0.15
SHRINK = 10.0  # pseudo-count pulling a subject's success rate towards the worker's overall logged rate


def success_model(outcomes: Outcomes, log: BanditLog) -> np.ndarray:
    """Predicted success of every worker on every question: the logged rate of that worker on the question's
    subject, shrunk towards the worker's logged rate over all subjects."""
    subjects = np.array(outcomes.subjects)
    q_hat = np.empty((len(outcomes), log.n_actions))
    for a in range(log.n_actions):
        taken = log.action == a
        overall = log.success[taken].mean()
        for subject in np.unique(subjects):
            seen = taken & (subjects == subject)
            q_hat[subjects == subject, a] = (log.success[seen].sum() + SHRINK * overall) / (seen.sum() + SHRINK)
    return q_hat


def cost_model(outcomes: Outcomes, log: BanditLog) -> np.ndarray:
    """Predicted cost of every worker on every question: a least-squares line in prompt tokens per worker."""
    design = np.column_stack([np.ones(len(outcomes)), outcomes.tokens_in])
    q_hat = np.empty((len(outcomes), log.n_actions))
    for a in range(log.n_actions):
        taken = log.action == a
        coef, *_ = np.linalg.lstsq(design[taken], log.cost_usd[taken], rcond=None)
        q_hat[:, a] = design @ coef
    return q_hat


def target_policies(outcomes: Outcomes) -> dict[str, np.ndarray]:
    """Always strong, always cheap, a fair coin, and strong only for questions longer than the median."""
    n = len(outcomes)
    chars = np.array([len(p) for p in outcomes.prompts])
    return {
        "always_strong": deterministic_policy(np.zeros(n, dtype=int), 2),
        "always_cheap": deterministic_policy(np.ones(n, dtype=int), 2),
        "random": np.full((n, 2), 0.5),
        "strong_if_longer_than_median": deterministic_policy(np.where(chars > np.median(chars), 0, 1), 2),
    }


def _figure(value: float, metric: str) -> float:
    return round(value, 4) if metric == "success" else float(f"{value:.4g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding mmlu_outcomes.jsonl.gz and prices.json")
    parser.add_argument("--seed", type=int, default=0, help="seed of the logging policy's draws and the bootstrap")
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()

    start = time.perf_counter()
    outcomes = read_outcomes(args.data)
    logging_policy = length_logging_policy(outcomes, explore=EXPLORE)
    log = log_bandit(outcomes, logging_policy, seed=args.seed)
    feedback = {"success": log.feedback("success", success_model(outcomes, log)),
                "cost_usd": log.feedback("cost_usd", cost_model(outcomes, log))}
    ope = OffPolicyEvaluation([DirectMethod(), IPS(), SNIPS(), DoublyRobust()])

    targets, covered, intervals = {}, 0, 0
    for name, policy in target_policies(outcomes).items():
        targets[name] = {}
        for metric, logged in feedback.items():
            truth = outcomes.true_value(policy, metric)
            row = {"true": _figure(truth, metric)}
            for r in ope.evaluate(logged, policy, alpha=args.alpha, n_bootstrap=args.n_bootstrap, seed=args.seed):
                row[r.estimator] = [_figure(r.estimate, metric), _figure(r.low, metric), _figure(r.high, metric)]
                covered += r.low <= truth <= r.high
                intervals += 1
            targets[name][metric] = row

    print(json.dumps({
        "bench": "ope", "data": "routellm-mmlu", "questions": len(outcomes), "workers": list(outcomes.workers),
        "logging": {"policy": f"length-logistic, explore={EXPLORE}", "seed": args.seed,
                    "strong_share": round(float(np.mean(log.action == 0)), 4),
                    "logged_success": round(float(log.success.mean()), 4),
                    "min_choice_prob": round(float(log.choice_prob.min()), 4)},
        "format": "[estimate, low, high]", "alpha": args.alpha, "n_bootstrap": args.n_bootstrap,
        "targets": targets, "covered": f"{covered}/{intervals}",
        "seconds": round(time.perf_counter() - start, 1),
    }))


if __name__ == "__main__":
    main()
