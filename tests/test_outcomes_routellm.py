"""The RouteLLM MMLU reader and its conversion to one-worker-per-question logs, on tiny hand-made files."""

import gzip
import json

import numpy as np
import pytest

from orchestai_core.outcomes.estimators import IPS, deterministic_policy
from orchestai_core.outcomes.routellm import (
    CHEAP,
    STRONG,
    execution_logs,
    length_logging_policy,
    log_bandit,
    read_outcomes,
)
from orchestai_core.schema import validate_log

QUESTIONS = [
    {"id": "q1", "subject": "anatomy", "prompt": "x" * 40, "scores": {CHEAP: 1.0, STRONG: 1.0}},
    {"id": "q2", "subject": "anatomy", "prompt": "y" * 401, "scores": {CHEAP: 0.0, STRONG: 1.0}},
    {"id": "q3", "subject": "virology", "prompt": "z" * 8, "scores": {CHEAP: 1.0, STRONG: 0.0}},
]
PRICES = {"_note": "USD per 1M tokens", STRONG: {"input": 10.0, "output": 30.0}, CHEAP: {"input": 0.6, "output": 0.6}}


def _write(directory, questions=QUESTIONS, prices=PRICES, gz=True, extra_lines=()):
    lines = [json.dumps(q) for q in questions] + list(extra_lines)
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(directory / "mmlu_outcomes.jsonl.gz", "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        (directory / "mmlu_outcomes.jsonl").write_text(text, encoding="utf-8")
    (directory / "prices.json").write_text(json.dumps(prices), encoding="utf-8")
    return directory


def test_the_reader_gives_the_outcome_matrix_strong_first_and_the_estimated_cost(tmp_path):
    outcomes = read_outcomes(_write(tmp_path))
    assert outcomes.ids == ("q1", "q2", "q3") and outcomes.subjects == ("anatomy", "anatomy", "virology")
    assert outcomes.workers == (STRONG, CHEAP)
    assert outcomes.success.tolist() == [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    # ceil(chars / 4) input tokens and 1 output token: 10, 101 and 2 tokens in.
    assert outcomes.tokens_in.tolist() == [10, 101, 2]
    assert outcomes.cost_usd[1, 0] == pytest.approx((101 * 10.0 + 30.0) / 1e6)
    assert outcomes.cost_usd[1, 1] == pytest.approx((101 * 0.6 + 0.6) / 1e6)


def test_the_reader_also_reads_an_uncompressed_file_and_skips_blank_lines(tmp_path):
    outcomes = read_outcomes(_write(tmp_path, gz=False, extra_lines=["", "  "]))
    assert len(outcomes) == 3


def test_the_true_value_of_a_policy_comes_from_every_workers_outcome(tmp_path):
    outcomes = read_outcomes(_write(tmp_path))
    strong = deterministic_policy([0, 0, 0], 2)
    best = deterministic_policy([0, 0, 1], 2)
    assert outcomes.true_value(strong, "success") == pytest.approx(2 / 3)
    assert outcomes.true_value(best, "success") == pytest.approx(1.0)
    assert outcomes.true_value(strong, "cost_usd") == pytest.approx(outcomes.cost_usd[:, 0].mean())
    with pytest.raises(ValueError, match="unknown metric 'latency'"):
        outcomes.true_value(strong, "latency")


@pytest.mark.parametrize("questions, extra, message", [
    ([{"id": "q1", "subject": "a", "prompt": "p", "scores": {STRONG: 1.0}}], [],
     rf"line 1: scores.{CHEAP}: expected 1.0 or 0.0, got None"),
    ([{"id": "q1", "subject": "a", "prompt": "p", "scores": {STRONG: 1.0, CHEAP: 0.5}}], [], "got 0.5"),
    ([{"id": "q1", "subject": "a", "scores": {STRONG: 1.0, CHEAP: 0.0}}], [], "line 1: prompt: required field missing"),
    ([{"id": "q1", "subject": "a", "prompt": "p", "scores": [1.0, 0.0]}], [], "line 1: scores: expected an object"),
    (QUESTIONS[:1], ["{not json"], "line 2: not JSON"),
    ([], [], "no questions"),
])
def test_a_malformed_outcomes_file_is_refused_with_its_line(tmp_path, questions, extra, message):
    with pytest.raises(ValueError, match=message):
        read_outcomes(_write(tmp_path, questions=questions, extra_lines=extra))


def test_a_worker_without_a_price_is_refused(tmp_path):
    prices = {STRONG: PRICES[STRONG]}
    with pytest.raises(ValueError, match=f"no price for {CHEAP}"):
        read_outcomes(_write(tmp_path, prices=prices))


def test_the_logging_policy_explores_and_sends_long_questions_to_the_strong_worker_more_often(tmp_path):
    outcomes = read_outcomes(_write(tmp_path))
    policy = length_logging_policy(outcomes, explore=0.15)
    assert np.allclose(policy.sum(axis=1), 1.0)
    assert policy.min() >= 0.15 and policy.max() <= 0.85
    assert policy[1, 0] > policy[0, 0] > policy[2, 0]  # 401 chars > 40 > 8


def test_the_bandit_log_is_seeded_and_reveals_only_the_chosen_workers_outcome(tmp_path):
    outcomes = read_outcomes(_write(tmp_path))
    policy = length_logging_policy(outcomes)
    log = log_bandit(outcomes, policy, seed=3)
    again = log_bandit(outcomes, policy, seed=3)
    assert log.action.tolist() == again.action.tolist()
    rows = np.arange(3)
    assert log.choice_prob.tolist() == policy[rows, log.action].tolist()
    assert log.success.tolist() == outcomes.success[rows, log.action].tolist()
    assert log.cost_usd.tolist() == outcomes.cost_usd[rows, log.action].tolist()
    feedback = log.feedback("success")
    assert feedback.reward.tolist() == log.success.tolist() and feedback.pscore.tolist() == log.choice_prob.tolist()


def test_the_bandit_log_follows_the_logging_policys_probabilities(tmp_path):
    questions = [dict(QUESTIONS[0], id=f"q{i}") for i in range(4000)]
    outcomes = read_outcomes(_write(tmp_path, questions=questions))
    policy = np.tile([0.3, 0.7], (4000, 1))
    log = log_bandit(outcomes, policy, seed=0)
    assert np.mean(log.action == 0) == pytest.approx(0.3, abs=0.03)
    never_strong = log_bandit(outcomes, np.tile([0.0, 1.0], (4000, 1)), seed=1)
    assert set(never_strong.action.tolist()) == {1}
    assert log_bandit(outcomes, policy, seed=1).action.tolist() != log.action.tolist()


def test_ips_on_the_bandit_log_recovers_the_true_value_on_average(tmp_path):
    questions = [dict(q, id=f"{q['id']}-{i}") for i in range(100) for q in QUESTIONS]
    outcomes = read_outcomes(_write(tmp_path, questions=questions))
    policy = length_logging_policy(outcomes)
    always_cheap = deterministic_policy(np.ones(len(outcomes), dtype=int), 2)
    estimates = [IPS().estimate(log_bandit(outcomes, policy, seed=s).feedback("success"), always_cheap)
                 for s in range(300)]
    assert np.mean(estimates) == pytest.approx(outcomes.true_value(always_cheap, "success"), abs=0.02)


def test_a_logging_policy_that_is_not_a_distribution_is_refused(tmp_path):
    outcomes = read_outcomes(_write(tmp_path))
    with pytest.raises(ValueError, match="summing to 1"):
        log_bandit(outcomes, np.tile([0.5, 0.6], (3, 1)), seed=0)
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        log_bandit(outcomes, np.tile([0.5, 0.5], (2, 1)), seed=0)


def test_the_bandit_log_becomes_valid_execution_logs_with_choice_prob(tmp_path):
    outcomes = read_outcomes(_write(tmp_path))
    log = log_bandit(outcomes, length_logging_policy(outcomes), seed=0)
    logs = execution_logs(outcomes, log)
    assert [entry["id"] for entry in logs] == ["q1", "q2", "q3"]
    for i, entry in enumerate(logs):
        validate_log(entry)
        step = entry["subtasks"][0]
        assert step["worker"] == outcomes.workers[log.action[i]]
        assert step["choice_prob"] == pytest.approx(log.choice_prob[i])
        assert entry["success"] == (outcomes.success[i, log.action[i]] == 1.0)
        assert step["status"] == ("success" if entry["success"] else "failed")
        assert step["tokens_in"] == outcomes.tokens_in[i] and entry["template"] == f"mmlu-{outcomes.subjects[i]}"
