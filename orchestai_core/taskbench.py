"""TaskBench rows (the format of TaskBench, GNN4TaskPlan and UltraTool) turned into logs of our format.

A row has `user_request`, `task_nodes` (`[{"task": tool}]`, in order), `task_links`
(`[{"source": tool, "target": tool}]`) and `task_steps` (the steps in words). Each node becomes a
sub-task whose `type` is its tool; each link becomes a dependency. Links name tools, not nodes, so
a tool that occurs twice needs a rule (`bind_links`); steps are matched to nodes by the tool they
name (`align_steps`). What the log cannot hold is kept under `meta.taskbench`, so nothing is lost.
Pure functions: no I/O, no store.
"""

from __future__ import annotations

import re

from orchestai_core.dag import find_cycle
from orchestai_core.schema import LogError

SOURCE = "taskbench"
MAX_NODES = 64  # the log format's limit on sub-tasks
_CONSUMED = ("id", "user_request", "task_nodes", "task_links", "task_steps")
_STEP_PREFIX = re.compile(r"^\s*step\s*\d+\s*[:.)-]?\s*", re.IGNORECASE)


def row_to_log(row: object, line: int) -> dict:
    """The log for one TaskBench row (line = its line in the file, for the id of a row without one).

    Raises LogError naming the field when the row is not a TaskBench row or its links cannot be
    mapped onto its nodes as a DAG."""
    if not isinstance(row, dict):
        raise LogError(f"expected a TaskBench row (a JSON object with user_request, task_nodes, task_links), "
                       f"got {type(row).__name__}")
    tools = _tools(row.get("task_nodes"))
    parents = bind_links(tools, _links(row.get("task_links", [])))
    steps = _steps(row.get("task_steps", []))
    placed = align_steps(tools, steps)
    subtasks = []
    for i, tool in enumerate(tools):
        subtask = {"id": f"s{i + 1}", "type": tool, "depends_on": [f"s{p + 1}" for p in sorted(parents[i])]}
        if placed[i]:
            subtask["description"] = "\n".join(_STEP_PREFIX.sub("", steps[k]) for k in placed[i])
        subtasks.append(subtask)
    log = {"id": _log_id(row.get("id"), line), "instruction": _request(row.get("user_request")),
           "source": SOURCE, "subtasks": subtasks}
    kept = {k: v for k, v in row.items() if k not in _CONSUMED}
    if placed != [[i] for i in range(len(tools))] and steps:
        kept["task_steps"] = steps  # not one step per node: keep them as written
    if any(isinstance(n, dict) and set(n) - {"task"} for n in row["task_nodes"]):
        kept["task_nodes"] = row["task_nodes"]  # arguments and other node fields have no place in a sub-task
    if kept:
        log["meta"] = {"taskbench": kept}
    return log


def _log_id(value: object, line: int) -> str:
    if value is None:
        return f"taskbench-{line}"
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise LogError(f"id: expected a non-empty string or integer, got {value!r}")
    return str(value)


def _request(value: object) -> str:
    if value is None:
        raise LogError("user_request: required field missing")
    if not isinstance(value, str) or not value.strip():
        raise LogError("user_request: expected a non-empty string")
    return value.strip()


def _tools(nodes: object) -> list[str]:
    """The tool of each node, in order (a node is `{"task": tool, …}` or the tool name itself)."""
    if nodes is None:
        raise LogError("task_nodes: required field missing")
    if not isinstance(nodes, list) or not nodes:
        raise LogError("task_nodes: expected a non-empty list of nodes")
    if len(nodes) > MAX_NODES:
        raise LogError(f"task_nodes: {len(nodes)} nodes, the log format allows at most {MAX_NODES} sub-tasks")
    tools = []
    for i, node in enumerate(nodes):
        tool = node.get("task") if isinstance(node, dict) else node
        if not isinstance(tool, str) or not tool.strip():
            raise LogError(f"task_nodes[{i}].task: expected the tool name, a non-empty string")
        tools.append(tool.strip())
    return tools


def _links(links: object) -> list[tuple[str, str]]:
    if not isinstance(links, list):
        raise LogError("task_links: expected a list of {source, target}")
    pairs = []
    for k, link in enumerate(links):
        if not isinstance(link, dict):
            raise LogError(f"task_links[{k}]: expected an object with source and target")
        ends = []
        for end in ("source", "target"):
            tool = link.get(end)
            if not isinstance(tool, str) or not tool.strip():
                raise LogError(f"task_links[{k}].{end}: expected a tool name, a non-empty string")
            ends.append(tool.strip())
        pairs.append((ends[0], ends[1]))
    return pairs


def _steps(steps: object) -> list[str]:
    if steps is None:
        return []
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise LogError("task_steps: expected a list of strings")
    return steps


def bind_links(tools: list[str], links: list[tuple[str, str]]) -> list[set[int]]:
    """The parents of each node, binding each tool-named link to a pair of node positions.

    Links are taken in their order. A link X → Y binds the first occurrence of Y (in node order)
    that has an occurrence of X before it and is not yet bound to the nearest such X, i.e. the
    pair the steps order implies; only when X never comes before Y does it bind backwards (the first
    Y, to the nearest X after it). A link whose every pair is already bound repeats an earlier link
    and adds nothing. Raises LogError for a tool that is not a node, a tool linked to itself that
    occurs once, and links that form a cycle."""
    parents: list[set[int]] = [set() for _ in tools]
    for k, (source, target) in enumerate(links):
        for end, tool in (("source", source), ("target", target)):
            if tool not in tools:
                raise LogError(f"task_links[{k}].{end}: tool {tool!r} is not among the task_nodes")
        pairs = _candidate_pairs(tools, source, target)
        if not pairs:
            raise LogError(f"task_links[{k}]: links {source!r} to itself, but it occurs only once in task_nodes")
        free = [(i, j) for i, j in pairs if i not in parents[j]]
        if free:
            i, j = free[0]
            parents[j].add(i)
    cycle = find_cycle([sorted(p) for p in parents])
    if cycle:
        path = " → ".join(f"{tools[n]} (node {n + 1})" for n in reversed(cycle))
        raise LogError(f"task_links: the links form a cycle: {path}")
    return parents


def _candidate_pairs(tools: list[str], source: str, target: str) -> list[tuple[int, int]]:
    """(source node, target node) pairs a link may bind, in preference order: the forward ones, or the
    backward ones when the source tool never comes before the target tool."""
    sources = [i for i, t in enumerate(tools) if t == source]
    targets = [j for j, t in enumerate(tools) if t == target]
    forward = [(max(i for i in sources if i < j), j) for j in targets if any(i < j for i in sources)]
    backward = [(min(i for i in sources if i > j), j) for j in targets if any(i > j for i in sources)]
    return forward or backward


def _named_tool(step: str, tools: list[str]) -> str | None:
    """The node tool a step names (the earliest in its text, the longest at the same place), if any."""
    found = []
    for tool in set(tools):
        match = re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", step)
        if match:
            found.append((match.start(), -len(tool), tool))
    return min(found)[2] if found else None


def align_steps(tools: list[str], steps: list[str]) -> list[list[int]]:
    """For each node, the indices of the steps that describe it.

    A step goes to the first node of the tool it names that has no step yet, or, when every node
    of that tool has one, joins the last of them (a tool call described in two steps). A step that
    names no node's tool describes no node, except when no step names one and there are as many
    steps as nodes: then step i describes node i."""
    placed: list[list[int]] = [[] for _ in tools]
    named = [_named_tool(step, tools) for step in steps]
    if len(steps) == len(tools) and not any(named):
        return [[i] for i in range(len(tools))]
    last: dict[str, int] = {}
    for k, tool in enumerate(named):
        if tool is None:
            continue
        free = [i for i, t in enumerate(tools) if t == tool and not placed[i]]
        node = free[0] if free else last[tool]
        placed[node].append(k)
        last[tool] = node
    return placed


def tool_descriptions(obj: object) -> list[dict]:
    """The tools of a TaskBench `tool_desc.json` (`{"nodes": [{"id", "desc", …}]}`, or the list itself) as
    {"name", "description", "content" (the whole entry)}. Raises LogError naming the entry at fault."""
    nodes = obj.get("nodes") if isinstance(obj, dict) else obj
    where = "nodes" if isinstance(obj, dict) else "tools"
    if not isinstance(nodes, list) or not nodes:
        raise LogError('expected tool descriptions: {"nodes": [{"id": tool, "desc": description}, …]}')
    tools, seen = [], set()
    for i, node in enumerate(nodes):
        name = node.get("id") if isinstance(node, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise LogError(f"{where}[{i}].id: expected the tool name, a non-empty string")
        description = node.get("desc")
        if description is not None and not isinstance(description, str):
            raise LogError(f"{where}[{i}].desc: expected a string")
        if name.strip() in seen:
            raise LogError(f"{where}[{i}].id: tool {name.strip()!r} is described twice")
        seen.add(name.strip())
        tools.append({"name": name.strip(), "description": description, "content": node})
    return tools
