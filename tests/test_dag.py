"""Graph helpers: cycles, a stable topological order, the critical path and start times."""

import pytest

from orchestai_core.dag import critical_path, find_cycle, has_cycle, parent_indices, start_times, topological_order


def tasks(*specs):
    return [{"id": i, "depends_on": deps, "latency_ms": lat} for i, deps, lat in specs]


def test_parent_indices_name_positions_and_drop_duplicate_dependencies():
    subtasks = [{"id": "a"}, {"id": "b", "depends_on": ["a", "a"]}, {"id": "c", "depends_on": ["b", "a"]}]
    assert parent_indices(subtasks) == [[], [0], [0, 1]]


def test_topological_order_puts_parents_first_and_keeps_ties_in_log_order():
    subtasks = tasks(("c", ["a"], 1), ("a", [], 1), ("b", [], 1), ("d", ["c", "b"], 1))
    assert topological_order(subtasks) == [1, 0, 2, 3]


def test_topological_order_of_a_fan_out_fan_in_keeps_branches_in_log_order():
    subtasks = tasks(("merge", ["b1", "b2", "b3"], 1), ("b3", ["root"], 1), ("b1", ["root"], 1),
                     ("root", [], 1), ("b2", ["root"], 1))
    order = [subtasks[i]["id"] for i in topological_order(subtasks)]
    assert order == ["root", "b3", "b1", "b2", "merge"]


@pytest.mark.parametrize("parents", [[[0]], [[1], [0]], [[1], [2], [0]], [[], [2], [3], [1]]])
def test_every_cycle_is_found_and_closed(parents):
    cycle = find_cycle(parents)
    assert cycle is not None and cycle[0] == cycle[-1]
    for child, parent in zip(cycle, cycle[1:]):
        assert parent in parents[child]


@pytest.mark.parametrize("parents", [[], [[]], [[], [0], [0, 1]], [[], [0], [0], [1, 2]]])
def test_acyclic_graphs_have_no_cycle(parents):
    assert find_cycle(parents) is None


def test_has_cycle_reads_parent_child_edges():
    assert has_cycle(2, [(0, 1), (1, 0)])
    assert has_cycle(1, [(0, 0)])
    assert not has_cycle(3, [(0, 1), (1, 2), (0, 2)])


def test_topological_order_refuses_a_cycle():
    with pytest.raises(ValueError, match="cycle"):
        topological_order(tasks(("a", ["b"], 1), ("b", ["a"], 1)))


def test_critical_path_is_the_longest_chain_of_latencies():
    subtasks = tasks(("s1", [], 640), ("s2", ["s1"], 1810), ("s3", ["s2"], 420), ("s4", ["s2"], 455))
    assert critical_path(subtasks) == (["s1", "s2", "s4"], 2905.0)
    assert start_times(subtasks) == [0.0, 640.0, 2450.0, 2450.0]


def test_critical_path_follows_the_slow_branch_of_a_diamond():
    subtasks = tasks(("a", [], 10), ("fast", ["a"], 5), ("slow", ["a"], 50), ("join", ["fast", "slow"], 1))
    assert critical_path(subtasks) == (["a", "slow", "join"], 61.0)
    assert start_times(subtasks) == [0.0, 10.0, 10.0, 60.0]


def test_missing_latencies_count_as_zero_and_other_weights_can_be_used():
    subtasks = [{"id": "a", "cost_usd": 2}, {"id": "b", "depends_on": ["a"], "latency_ms": 7}]
    assert critical_path(subtasks) == (["a", "b"], 7.0)
    assert critical_path(subtasks, key="cost_usd") == (["a"], 2.0)  # b adds nothing: the path stops at a
    assert start_times(subtasks) == [0.0, 0.0]


def test_equal_paths_end_at_the_first_subtask_in_log_order():
    subtasks = tasks(("x", [], 5), ("y", [], 5))
    assert critical_path(subtasks) == (["x"], 5.0)


def test_an_empty_workflow_has_an_empty_critical_path():
    assert critical_path([]) == ([], 0.0)
    assert start_times([]) == []
