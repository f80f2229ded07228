"""Plan metrics on hand-made graphs."""

from collections import Counter

import pytest

from orchestai_core.dag import Graph
from orchestai_core.evaluate import aggregate, confusion, matched_workers, multiset_f1, score

GOLD = Graph(["extract", "summarize", "translate", "translate"], ["a", "b", "c", "c"], [[], [0], [1], [1]])


def test_a_perfect_plan_scores_one_everywhere():
    s = score(GOLD, GOLD)
    assert (s["node_f1"], s["edge_f1"], s["exact_match"], s["dag_valid"]) == (1.0, 1.0, 1.0, 1.0)
    assert (s["worker_hits"], s["worker_total"]) == (4, 4)


def test_a_missing_branch_and_a_wrong_worker():
    predicted = Graph(["extract", "summarize", "translate"], ["a", "b", "x"], [[], [0], [1]])
    s = score(predicted, GOLD)
    assert s["node_f1"] == pytest.approx(2 * (3 / 3) * (3 / 4) / (3 / 3 + 3 / 4))
    assert s["edge_f1"] == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))
    assert s["exact_match"] == 0.0
    assert (s["worker_hits"], s["worker_total"]) == (2, 3)


def test_a_cyclic_prediction_is_not_a_valid_dag():
    assert score(Graph(["a", "b"], [None, None], [[1], [0]]), GOLD)["dag_valid"] == 0.0


def test_multiset_f1_edge_cases():
    assert multiset_f1(Counter(), Counter()) == 1.0
    assert multiset_f1(Counter("ab"), Counter("cd")) == 0.0


def test_aggregate_pools_worker_accuracy_and_confusion_counts():
    scores = [score(GOLD, GOLD), score(Graph(["extract"], ["z"], [[]]), GOLD)]
    result = aggregate(scores)
    assert result["n"] == 2 and result["worker_accuracy"] == pytest.approx(4 / 5)
    assert result["dag_validity"] == 1.0
    matrix = confusion(matched_workers(Graph(["extract"], ["z"], [[]]), GOLD))
    assert matrix == {"a": {"z": 1}}
    assert aggregate([])["n"] == 0


def test_worker_accuracy_on_the_logging_policys_own_choices_leaves_out_its_explorations():
    """Steps logged with choice_prob above one half were the logging policy's own choice; a lower one was an
    exploration, and a step without choice_prob says nothing: only the first count in the second figure."""
    predicted = Graph(["extract", "summarize", "translate", "translate"], ["a", "x", "y", "c"], [[], [0], [1], [1]])
    s = score(predicted, GOLD, [0.9, 0.95, 0.05, None])
    assert (s["worker_hits"], s["worker_total"]) == (2, 4)
    assert (s["preferred_hits"], s["preferred_total"]) == (1, 2)  # extract right, summarize wrong
    other = score(Graph(["translate"], ["c"], [[]]), GOLD, [0.9, 0.9, 0.9, 0.9])  # matched to the first translate
    assert (other["preferred_hits"], other["preferred_total"]) == (1, 1)
    result = aggregate([s, other])
    assert result["worker_accuracy"] == pytest.approx(3 / 5)
    assert result["worker_accuracy_preferred"] == pytest.approx(2 / 3)
    assert aggregate([score(GOLD, GOLD)])["worker_accuracy_preferred"] is None  # no choice_prob recorded
    assert aggregate([score(GOLD, GOLD, [0.5, 0.2, 0.1, None])])["worker_accuracy_preferred"] is None
    assert aggregate([])["worker_accuracy_preferred"] is None
