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


def critical_path(subtasks: Sequence[dict], key: str = "latency_ms") -> tuple[list[str], float]:
    """Longest path by node weight `key` (missing weights count 0): (subtask ids, total)."""
    parents = parent_indices(subtasks)
    finish: dict[int, float] = {}
    best_parent: dict[int, int | None] = {}
    for i in topological_order(subtasks):
        via = max(parents[i], key=lambda p: finish[p], default=None)
        start = finish[via] if via is not None else 0.0
        finish[i] = start + float(subtasks[i].get(key) or 0.0)
        best_parent[i] = via
    if not finish:
        return [], 0.0
    end = max(finish, key=lambda i: (finish[i], -i))
    path = []
    node: int | None = end
    while node is not None:
        path.append(subtasks[node]["id"])
        node = best_parent[node]
    return path[::-1], finish[end]


def start_times(subtasks: Sequence[dict], key: str = "latency_ms") -> list[float]:
    """Earliest start of each subtask when each step starts as soon as its dependencies end."""
    parents = parent_indices(subtasks)
    start = [0.0] * len(subtasks)
    for i in topological_order(subtasks):
        start[i] = max((start[p] + float(subtasks[p].get(key) or 0.0) for p in parents[i]), default=0.0)
    return start
