"""Workflow graphs: the (types, workers, parents) `Graph` that plans and metrics share, cycle search, a
stable topological order and the critical path.

Subtasks are dicts in the log format (`id`, `depends_on`, optional `latency_ms`).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Graph:
    """A workflow as the planner emits it: sub-task types and workers, and each node's parents (all earlier)."""

    types: list[str]
    workers: list[str | None]
    parents: list[list[int]]

    def edge_pairs(self) -> Counter:
        """The (parent type, child type) pairs of its edges, counted."""
        return Counter((self.types[p], self.types[c]) for c, ps in enumerate(self.parents) for p in ps)


def parent_indices(subtasks: Sequence[dict]) -> list[list[int]]:
    """For each subtask, the indices of the subtasks it depends on (duplicates dropped)."""
    index = {s["id"]: i for i, s in enumerate(subtasks)}
    return [sorted({index[d] for d in s.get("depends_on") or []}) for s in subtasks]


def find_cycle(parents: Sequence[Sequence[int]]) -> list[int] | None:
    """Return one cycle as a list of node indices (first node repeated at the end), or None."""
    n = len(parents)
    state = [0] * n  # 0 new, 1 on stack, 2 done
    for root in range(n):
        if state[root]:
            continue
        stack = [(root, iter(parents[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state[nxt] == 1:
                return path[path.index(nxt):] + [nxt]
            elif state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, iter(parents[nxt])))
                path.append(nxt)
    return None


def has_cycle(n: int, edges: Sequence[tuple[int, int]]) -> bool:
    """True when the directed edges (parent, child) over n nodes contain a cycle."""
    parents: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        parents[b].append(a)
    return find_cycle(parents) is not None


def topological_order(subtasks: Sequence[dict]) -> list[int]:
    """Indices in dependency order; ties keep the original order. Raises ValueError on a cycle."""
    parents = parent_indices(subtasks)
    children: list[list[int]] = [[] for _ in subtasks]
    indegree = [len(p) for p in parents]
    for child, ps in enumerate(parents):
        for p in ps:
            children[p].append(child)
    ready = [i for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for c in children[node]:
            indegree[c] -= 1
            if indegree[c] == 0:
                heapq.heappush(ready, c)
    if len(order) != len(subtasks):
        raise ValueError("dependencies form a cycle")
    return order


def finish_times(weights: Sequence[float], parents: Sequence[Sequence[int]],
                 order: Sequence[int] | None = None) -> tuple[list[float], list[int | None]]:
    """When each node ends if it starts as soon as its parents end and lasts its weight, and the parent it
    waits for (None for a root; ties go to the first-listed parent). `order` is a topological order
    (default: index order, for parents listed before their children)."""
    finish: list[float] = [0.0] * len(weights)
    via: list[int | None] = [None] * len(weights)
    for i in range(len(weights)) if order is None else order:
        start = 0.0
        for parent in parents[i]:  # a plain loop: the budget repair of a plan calls this many times
            if via[i] is None or finish[parent] > start:
                start, via[i] = finish[parent], parent
        finish[i] = start + float(weights[i])
    return finish, via


def longest_path(weights: Sequence[float], parents: Sequence[Sequence[int]],
                 order: Sequence[int] | None = None) -> tuple[list[int], float]:
    """The longest path by node weight (node indices, in order) and its length; ties end at the lowest
    index. See `finish_times` for `order`."""
    if not len(weights):
        return [], 0.0
    finish, via = finish_times(weights, parents, order)
    end = max(range(len(finish)), key=lambda i: (finish[i], -i))
    path: list[int] = []
    node: int | None = end
    while node is not None:
        path.append(node)
        node = via[node]
    return path[::-1], finish[end]


def _weights(subtasks: Sequence[dict], key: str) -> list[float]:
    return [float(s.get(key) or 0.0) for s in subtasks]  # a missing weight counts 0


def critical_path(subtasks: Sequence[dict], key: str = "latency_ms") -> tuple[list[str], float]:
    """Longest path by node weight `key` (missing weights count 0): (subtask ids, total)."""
    path, total = longest_path(_weights(subtasks, key), parent_indices(subtasks), topological_order(subtasks))
    return [subtasks[i]["id"] for i in path], total


def start_times(subtasks: Sequence[dict], key: str = "latency_ms") -> list[float]:
    """Earliest start of each subtask when each step starts as soon as its dependencies end."""
    finish, via = finish_times(_weights(subtasks, key), parent_indices(subtasks), topological_order(subtasks))
    return [finish[v] if v is not None else 0.0 for v in via]
