"""Synthetic outcomes depend on the worker and the request; the logging policy explores and records the
exact probability of each choice; the ground truth is recoverable from a log alone."""

import collections
import json
import math
import statistics

import pytest

from orchestai_core.catalogue import load_catalogue
from orchestai_core.schema import validate_log
from orchestai_core.synth import expected_cost, generate_logs, logging_distribution, success_matrix, true_success
from orchestai_core.synth.difficulty import request_difficulty
from orchestai_core.synth.simulate import success_probability
from orchestai_core.synth.tasks import TASK_TYPES


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def logs():
    return list(generate_logs(1000, seed=3))


def _within(observed: float, probabilities: list[float], sigmas: float = 4.0) -> bool:
    """Whether a count of successes agrees with independent Bernoulli trials of these probabilities."""
    spread = math.sqrt(sum(p * (1 - p) for p in probabilities))
    return abs(observed - sum(probabilities)) <= sigmas * spread


def test_every_subtask_records_the_logging_probability_of_its_worker(logs, catalogue):
    for log in logs:
        validate_log(log)
        for i, task in enumerate(log["subtasks"]):
            dist = logging_distribution(log, i, catalogue)
            assert set(dist) == set(catalogue.names())
            assert all(p >= 0 for p in dist.values()) and math.isclose(sum(dist.values()), 1.0, abs_tol=1e-12)
            assert 0 < task["choice_prob"] <= 1
            assert task["choice_prob"] == dist[task["worker"]]


def test_logged_workers_are_drawn_from_the_logging_distribution(logs, catalogue):
    cells = collections.defaultdict(list)
    for log in logs:
        for i, task in enumerate(log["subtasks"]):
            cells[(task["type"], log["meta"]["mode"])].append((log, i, task["worker"]))
    checked = 0
    for cell in cells.values():
        dist = logging_distribution(cell[0][0], cell[0][1], catalogue)
        counts = collections.Counter(worker for _, _, worker in cell)
        assert set(counts) <= {w for w, p in dist.items() if p > 0}
        for worker, p in dist.items():
            if p * len(cell) >= 10:  # enough expected draws for the normal approximation
                assert _within(counts[worker], [p] * len(cell)), (cell[0][0]["subtasks"][cell[0][1]]["type"], worker)
                checked += p < 0.5
    assert checked >= 5, "exploratory choices are checked too"


def test_a_strong_worker_beats_a_cheap_one_on_hard_requests_and_not_on_easy_ones(catalogue):
    strong, cheap = catalogue.get("gpt-4o"), catalogue.get("gpt-4o-mini")
    for task_type in ("reason_answer", "summarize", "legal_review", "fact_check"):
        easy = success_probability(task_type, strong, 0.03) - success_probability(task_type, cheap, 0.03)
        hard = success_probability(task_type, strong, 0.7) - success_probability(task_type, cheap, 0.7)
        assert 0 <= easy <= 0.12 and hard >= 0.3, (task_type, easy, hard)
    assert success_probability("reason_answer", strong, 0.9) < success_probability("reason_answer", strong, 0.1) - 0.3
    assert success_probability("summarize", catalogue.get("tts-1"), 0.0) < 0.01  # cannot do the type at all


def test_difficulty_is_kept_in_the_log_and_partly_visible_in_the_request(logs):
    by_domain, by_mode = collections.defaultdict(list), collections.defaultdict(list)
    for log in logs:
        assert 0 < log["meta"]["difficulty"] < 1
        by_domain[log["meta"]["domain"]].append(log["meta"]["difficulty"])
        by_mode[log["meta"]["mode"]].append(log["meta"]["difficulty"])
    assert statistics.mean(by_domain["legal"]) > statistics.mean(by_domain["customer_support"]) + 0.15
    assert statistics.mean(by_mode["premium"]) > statistics.mean(by_mode["budget"]) + 0.1
    assert statistics.pstdev(by_domain["legal"]) > 0.1, "a latent part varies within what the request shows"
    assert request_difficulty("legal", "premium", 8, 0.0) > request_difficulty("legal", "premium", 2, 0.0)
    ordered = sorted(logs, key=lambda log: log["meta"]["difficulty"])
    quarter = len(ordered) // 4
    easy, hard = ordered[:quarter], ordered[-quarter:]
    assert statistics.mean(log["success"] for log in easy) > statistics.mean(log["success"] for log in hard) + 0.4


def test_logged_outcomes_match_the_true_success_probabilities(logs, catalogue):
    cells = collections.defaultdict(list)
    for log in logs:
        for i, task in enumerate(log["subtasks"]):
            if task["status"] != "skipped":  # a run step succeeds with its true probability, parents aside
                cells[(task["type"], task["worker"])].append((task["status"] == "success",
                                                              true_success(log, i, task["worker"], catalogue)))
    big = {key: cell for key, cell in cells.items() if len(cell) >= 300}
    assert len(big) >= 10
    assert any(statistics.mean(p for _, p in cell) < 0.9 for cell in big.values()), "some cells fail often"
    for key, cell in big.items():
        assert _within(sum(ok for ok, _ in cell), [p for _, p in cell]), key
    everything = [item for cell in cells.values() for item in cell]
    assert _within(sum(ok for ok, _ in everything), [p for _, p in everything])


def test_the_ground_truth_is_recovered_from_the_log_alone(logs, catalogue):
    log = json.loads(json.dumps(logs[5]))  # as read back from a file
    matrix = success_matrix(log, catalogue)
    assert len(matrix) == len(log["subtasks"])
    for i, task in enumerate(log["subtasks"]):
        worker = catalogue.get(task["worker"])
        assert matrix[i][task["worker"]] == true_success(log, i, task["worker"]) == success_probability(
            task["type"], worker, log["meta"]["difficulty"])
        info = TASK_TYPES[task["type"]]
        assert 0 < expected_cost(log, i, task["worker"]) <= worker.cost_usd(2 * info.tokens_in, 2 * info.tokens_out) \
            or info.tokens_in + info.tokens_out == 0 or worker.cost_usd(1000, 1000) == 0
    with pytest.raises(ValueError, match="meta.difficulty"):
        true_success({**log, "meta": {"mode": "standard"}}, 0, "gpt-4o")


def test_expected_cost_matches_the_logged_cost_of_run_steps(logs, catalogue):
    logged, expected = 0.0, 0.0
    for log in logs:
        for i, task in enumerate(log["subtasks"]):
            if task["status"] != "skipped":
                logged += task["cost_usd"]
                expected += expected_cost(log, i, task["worker"], catalogue)
    assert logged == pytest.approx(expected, rel=0.03)


def test_outcomes_are_deterministic_for_a_seed_and_prefixes_agree():
    assert list(generate_logs(30, seed=9)) == list(generate_logs(30, seed=9))
    assert list(generate_logs(5, seed=9)) == list(generate_logs(30, seed=9))[:5]
