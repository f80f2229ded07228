"""Real outcomes for worker selection: MMLU questions answered by a strong and a cheap LLM (RouteLLM).

Both outcomes are known for every question, so the data can be turned into logs of one worker per question
chosen by a seeded stochastic logging policy (recording `choice_prob`), while the full outcome matrix is
kept aside as the truth that off-policy estimates are judged against.

Cost is an estimate: the data holds no token counts. RouteLLM asked for one output token and prefixed a
few-shot block that is not in the data, so a question costs ceil(len(prompt) / 4) input tokens (the usual
characters-per-token rule) and `OUTPUT_TOKENS` output tokens at the worker's list price.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestai_core.outcomes.estimators import LoggedFeedback, policy_value

STRONG = "gpt-4-1106-preview"
CHEAP = "mixtral-8x7b-instruct"
WORKERS = (STRONG, CHEAP)  # action 0 is the strong worker, action 1 the cheap one
OUTCOMES_FILE = "mmlu_outcomes.jsonl.gz"
PRICES_FILE = "prices.json"
CHARS_PER_TOKEN = 4
OUTPUT_TOKENS = 1
METRICS = ("success", "cost_usd")


@dataclass(frozen=True)
class Outcomes:
    """Every question with the outcome of every worker: `success` (1.0 right, 0.0 wrong) and the estimated
    `cost_usd`, both n×k with columns in the order of `workers`."""

    ids: tuple[str, ...]
    subjects: tuple[str, ...]
    prompts: tuple[str, ...]
    workers: tuple[str, ...]
    success: np.ndarray
    cost_usd: np.ndarray
    tokens_in: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def rewards(self, metric: str) -> np.ndarray:
        """The n×k matrix of one metric, `success` or `cost_usd`."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r} (expected one of {', '.join(METRICS)})")
        return getattr(self, metric)

    def true_value(self, policy: np.ndarray, metric: str) -> float:
        """The policy's true mean of `metric` over these questions."""
        return policy_value(self.rewards(metric), policy)


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_prices(path: str | Path) -> dict[str, tuple[float, float]]:
    """USD per 1M (input, output) tokens by worker; keys starting with '_' are notes."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    prices = {}
    for worker, price in raw.items():
        if worker.startswith("_"):
            continue
        if not isinstance(price, dict) or not {"input", "output"} <= set(price):
            raise ValueError(f"{path}: {worker}: expected {{\"input\": USD, \"output\": USD}} per 1M tokens")
        prices[worker] = (float(price["input"]), float(price["output"]))
    return prices


def _question(line: str, number: int, path: Path, workers: tuple[str, ...]) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: line {number}: not JSON ({error.msg})") from None
    for field in ("id", "subject", "prompt", "scores"):
        if field not in row:
            raise ValueError(f"{path}: line {number}: {field}: required field missing")
    if not isinstance(row["scores"], dict):
        raise ValueError(f"{path}: line {number}: scores: expected an object of worker to 1.0 or 0.0")
    for worker in workers:
        score = row["scores"].get(worker)
        if score not in (0, 1):
            raise ValueError(f"{path}: line {number}: scores.{worker}: expected 1.0 or 0.0, got {score!r}")
    return row


def read_outcomes(directory: str | Path, workers: tuple[str, ...] = WORKERS,
                  output_tokens: int = OUTPUT_TOKENS) -> Outcomes:
    """Read `mmlu_outcomes.jsonl.gz` (or `.jsonl`) and `prices.json` from `directory`."""
    directory = Path(directory)
    path = directory / OUTCOMES_FILE
    if not path.exists() and (directory / OUTCOMES_FILE.removesuffix(".gz")).exists():
        path = directory / OUTCOMES_FILE.removesuffix(".gz")
    prices = read_prices(directory / PRICES_FILE)
    missing = [w for w in workers if w not in prices]
    if missing:
        raise ValueError(f"{directory / PRICES_FILE}: no price for {missing[0]}")
    with _open_text(path) as lines:
        rows = [_question(line, number, path, workers) for number, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        raise ValueError(f"{path}: no questions")
    tokens_in = np.array([math.ceil(len(r["prompt"]) / CHARS_PER_TOKEN) for r in rows], dtype=float)
    price_in = np.array([prices[w][0] for w in workers]) / 1e6
    price_out = np.array([prices[w][1] for w in workers]) / 1e6
    return Outcomes(
        ids=tuple(r["id"] for r in rows),
        subjects=tuple(r["subject"] for r in rows),
        prompts=tuple(r["prompt"] for r in rows),
        workers=tuple(workers),
        success=np.array([[float(r["scores"][w]) for w in workers] for r in rows]),
        cost_usd=tokens_in[:, None] * price_in + output_tokens * price_out,
        tokens_in=tokens_in,
    )


def length_logging_policy(outcomes: Outcomes, explore: float = 0.15, midpoint_chars: float = 300.0) -> np.ndarray:
    """A stochastic logging policy: long questions go to the strong worker more often (a logistic in the log
    of the prompt length), and every worker keeps at least `explore` probability on every question."""
    if not 0 < explore <= 0.5:
        raise ValueError(f"explore must be in (0, 0.5], got {explore!r}")
    if len(outcomes.workers) != 2:
        raise ValueError("the length logging policy routes between exactly two workers (strong, cheap)")
    chars = np.array([len(p) for p in outcomes.prompts], dtype=float)
    lean = 1.0 / (1.0 + np.exp(-2.0 * (np.log(np.maximum(chars, 1.0)) - math.log(midpoint_chars))))
    p_strong = explore + (1 - 2 * explore) * lean
    return np.column_stack([p_strong, 1 - p_strong])


@dataclass(frozen=True)
class BanditLog:
    """What a log of one worker per question shows: the chosen action, its `choice_prob` under the logging
    policy, and that worker's observed success and cost. The other worker's outcome is not here."""

    action: np.ndarray
    choice_prob: np.ndarray
    success: np.ndarray
    cost_usd: np.ndarray
    n_actions: int

    def feedback(self, metric: str, q_hat: np.ndarray | None = None) -> LoggedFeedback:
        """The logged feedback on `metric` (`success` or `cost_usd`) for the estimators."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r} (expected one of {', '.join(METRICS)})")
        return LoggedFeedback(self.action, getattr(self, metric), self.choice_prob, self.n_actions, q_hat)


def log_bandit(outcomes: Outcomes, logging_policy: np.ndarray, seed: int) -> BanditLog:
    """Choose one worker per question from `logging_policy` (n×k, rows summing to 1), seeded, and reveal only
    its outcome."""
    logging_policy = np.asarray(logging_policy, dtype=float)
    n, k = len(outcomes), len(outcomes.workers)
    if logging_policy.shape != (n, k):
        raise ValueError(f"the logging policy must have shape {(n, k)}, got {logging_policy.shape}")
    cumulative = np.cumsum(logging_policy, axis=1)
    if np.any(np.abs(cumulative[:, -1] - 1) > 1e-6) or logging_policy.min() < 0:
        raise ValueError("the logging policy's rows must be probabilities summing to 1")
    # Scaling by the row total keeps the draw below it, so a zero-probability worker is never chosen.
    draw = np.random.default_rng(seed).random(n) * cumulative[:, -1]
    action = (draw[:, None] >= cumulative).sum(axis=1)
    rows = np.arange(n)
    return BanditLog(action=action, choice_prob=logging_policy[rows, action], success=outcomes.success[rows, action],
                     cost_usd=outcomes.cost_usd[rows, action], n_actions=k)


def execution_logs(outcomes: Outcomes, log: BanditLog, output_tokens: int = OUTPUT_TOKENS) -> list[dict]:
    """The bandit log as execution logs of the log format v1.1: one sub-task per question, with its worker,
    status, estimated cost and tokens, and `choice_prob`."""
    logs = []
    for i, question_id in enumerate(outcomes.ids):
        a = int(log.action[i])
        succeeded = bool(log.success[i] == 1.0)
        logs.append({
            "id": question_id,
            "instruction": outcomes.prompts[i],
            "subtasks": [{
                "id": "s1", "type": "answer_multiple_choice", "worker": outcomes.workers[a], "depends_on": [],
                "status": "success" if succeeded else "failed", "cost_usd": float(log.cost_usd[i]),
                "tokens_in": int(outcomes.tokens_in[i]), "tokens_out": output_tokens,
                "choice_prob": float(log.choice_prob[i]),
            }],
            "success": succeeded,
            "total_cost_usd": float(log.cost_usd[i]),
            "template": f"mmlu-{outcomes.subjects[i]}",
            "source": "routellm-mmlu",
        })
    return logs
