"""Graph helpers: cycles, a stable topological order, the critical path and start times."""

import pytest

from orchestai_core.dag import critical_path, find_cycle, has_cycle, start_times, topological_order


def tasks(*specs):
    return [{"id": i, "depends_on": deps, "latency_ms": lat} for i, deps, lat in specs]


def test_topological_order_puts_parents_first_and_keeps_ties_in_log_order():
    subtasks = tasks(("c", ["a"], 1), ("a", [], 1), ("b", [], 1), ("d", ["c", "b"], 1))
    assert topological_order(subtasks) == [1, 0, 2, 3]


def test_cycles_are_found_and_refused():
    assert find_cycle([[1], [2], [0]]) is not None
    assert find_cycle([[], [0], [0, 1]]) is None
    assert has_cycle(2, [(0, 1), (1, 0)]) and not has_cycle(3, [(0, 1), (1, 2)])
    with pytest.raises(ValueError, match="cycle"):
        topological_order(tasks(("a", ["b"], 1), ("b", ["a"], 1)))


def test_critical_path_is_the_longest_chain_of_latencies():
    subtasks = tasks(("s1", [], 640), ("s2", ["s1"], 1810), ("s3", ["s2"], 420), ("s4", ["s2"], 455))
    assert critical_path(subtasks) == (["s1", "s2", "s4"], 2905.0)
    assert start_times(subtasks) == [0.0, 640.0, 2450.0, 2450.0]
    assert critical_path([]) == ([], 0.0)
