"""TaskBench rows become logs: tools are sub-task types, steps descriptions, tool-named links bind to the
right nodes (repeated tools included); unmappable rows are rejected with their line and kept; tool
descriptions are kept once."""

import json

import pytest

from orchestai_core.ingest import UnreadableFileError, import_file, import_tools
from orchestai_core.schema import LogError, validate_log
from orchestai_core.taskbench import align_steps, bind_links, row_to_log


def row(tools, links, steps=None, **extra):
    return {"user_request": "Do the thing.", "task_nodes": [{"task": t} for t in tools],
            "task_links": [{"source": s, "target": t} for s, t in links],
            "task_steps": steps if steps is not None else [f"Step {i + 1} Call {t} to do it" for i, t in
                                                           enumerate(tools)], **extra}


def deps(log):
    return {s["id"]: s["depends_on"] for s in log["subtasks"]}


# Hand-made rows in the shapes UltraTool has: a plain chain, a tool used three times, a tool that
# comes back after another, steps in another order than the nodes, a step split in two.
CHAIN = row(["file_write", "file_modify"], [("file_write", "file_modify")], id="1355", n_tools=2, type="chain")
TRIPLE = row(["review", "review", "review"], [("review", "review"), ("review", "review")])
RETURNING = row(["note", "annotation", "note"], [("note", "annotation"), ("annotation", "note")])
REORDERED = row(["query", "booking"], [("query", "booking")],
                steps=["Step 1 Call booking to book the room", "Step 2 Call query to list the bookings"])
SPLIT_STEP = row(["file_modify", "send_email"], [("file_modify", "send_email")],
                 steps=["Step 1 Call file_modify to change the title", "Step 2 Call file_modify to add a sentence",
                        "Step 3 Call send_email to send it"])


def test_a_chain_becomes_a_log_with_tools_as_types_and_steps_as_descriptions():
    log = validate_log(row_to_log(CHAIN, line=1))
    assert log["id"] == "1355" and log["instruction"] == "Do the thing." and log["source"] == "taskbench"
    assert [(s["id"], s["type"], s["description"]) for s in log["subtasks"]] == [
        ("s1", "file_write", "Call file_write to do it"), ("s2", "file_modify", "Call file_modify to do it")]
    assert deps(log) == {"s1": [], "s2": ["s1"]}
    assert log["meta"] == {"taskbench": {"n_tools": 2, "type": "chain"}}  # one step per node: steps not repeated
    assert "template" not in log  # a TaskBench row names no task template


def test_a_row_without_id_is_named_by_its_line():
    assert row_to_log(TRIPLE, line=17)["id"] == "taskbench-17"


def test_a_tool_used_three_times_binds_each_link_to_the_next_pair():
    assert deps(row_to_log(TRIPLE, line=1)) == {"s1": [], "s2": ["s1"], "s3": ["s2"]}


def test_a_tool_that_comes_back_binds_the_nearest_earlier_occurrence():
    assert deps(row_to_log(RETURNING, line=1)) == {"s1": [], "s2": ["s1"], "s3": ["s2"]}
    # fan-out from one occurrence, and a link X -> Y bound to the X just before each Y
    assert bind_links(["a", "b", "b"], [("a", "b"), ("a", "b")]) == [set(), {0}, {0}]
    assert bind_links(["a", "b", "a", "b"], [("a", "b"), ("b", "a"), ("a", "b")]) == [set(), {0}, {1}, {2}]


def test_a_link_against_the_node_order_binds_backwards_and_a_repeated_link_adds_nothing():
    assert bind_links(["a", "b"], [("b", "a")]) == [{1}, set()]
    assert bind_links(["a", "b"], [("a", "b"), ("a", "b")]) == [set(), {0}]


def test_steps_are_matched_to_nodes_by_the_tool_they_name_and_kept_when_not_one_per_node():
    reordered = row_to_log(REORDERED, line=1)
    assert [s["description"] for s in reordered["subtasks"]] == ["Call query to list the bookings",
                                                               "Call booking to book the room"]
    assert reordered["meta"]["taskbench"]["task_steps"] == REORDERED["task_steps"]
    split = row_to_log(SPLIT_STEP, line=1)
    assert split["subtasks"][0]["description"] == ("Call file_modify to change the title\n"
                                                   "Call file_modify to add a sentence")
    assert align_steps(["a", "a", "a"], ["Call a first", "Call a second"]) == [[0], [1], []]
    assert align_steps(["x", "y"], ["first thing", "second thing"]) == [[0], [1]]  # no tool named: by position


@pytest.mark.parametrize("bad, reason", [
    (row(["a", "b"], [("a", "b"), ("b", "a")]),
     "task_links: the links form a cycle: a (node 1) → b (node 2) → a (node 1)"),
    (row(["a", "b"], [("a", "c")]), "task_links[0].target: tool 'c' is not among the task_nodes"),
    (row(["a", "b"], [("b", "b")]), "task_links[0]: links 'b' to itself, but it occurs only once in task_nodes"),
    (row([], []), "task_nodes: expected a non-empty list of nodes"),
    ({"task_nodes": [{"task": "a"}], "task_links": []}, "user_request: required field missing"),
    (row(["a", ""], []), "task_nodes[1].task: expected the tool name, a non-empty string"),
    (row(["a"], [], id=[1]), "id: expected a non-empty string or integer, got [1]"),
    ([1, 2], "expected a TaskBench row (a JSON object with user_request, task_nodes, task_links), got list"),
])
def test_unmappable_rows_are_refused_with_the_field_and_why(bad, reason):
    with pytest.raises(LogError) as exc:
        row_to_log(bad, line=1)
    assert str(exc.value) == reason


def test_import_keeps_the_good_rows_and_rejects_the_bad_with_line_and_reason(store, tmp_path):
    cyclic = row(["a", "b"], [("a", "b"), ("b", "a")])
    path = tmp_path / "tb.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (CHAIN, cyclic, TRIPLE)) + "\n")
    report = import_file(store, path, fmt="taskbench")
    assert (report.read, report.imported, report.rejected) == (3, 2, 1)
    assert report.rejects == [{"line": 2, "error": "line 2: task_links: the links form a cycle: "
                                                   "a (node 1) → b (node 2) → a (node 1)"}]
    assert sorted(store.logs.ids()) == ["1355", "taskbench-3"]
    kept = store.imports.rejects(report.batch_id)
    assert [(r["line"], json.loads(r["raw"])) for r in kept] == [(2, cyclic)]  # verbatim
    assert import_file(store, path, fmt="taskbench").unchanged == 2  # again: nothing changes


def test_a_taskbench_row_imported_as_a_log_is_rejected_with_a_hint_at_the_format(store, tmp_path):
    path = tmp_path / "tb.jsonl"
    path.write_text(json.dumps(CHAIN) + "\n")
    report = import_file(store, path)
    assert report.rejected == 1
    assert report.rejects[0]["error"].endswith("(this looks like a TaskBench row: import it with format taskbench)")


TOOLS = {"nodes": [{"id": "file_write", "desc": "Write a file", "domain": ["File"]},
                   {"id": "file_modify", "desc": "Modify a file", "domain": ["File"]}]}


def test_tool_descriptions_are_kept_and_importing_them_twice_changes_nothing(store, tmp_path):
    path = tmp_path / "tool_desc.json"
    path.write_text(json.dumps(TOOLS))
    first = import_tools(store, path)
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    kept = store.imports.tools()
    assert [(t["name"], t["description"], t["content"]) for t in kept] == [
        ("file_modify", "Modify a file", TOOLS["nodes"][1]), ("file_write", "Write a file", TOOLS["nodes"][0])]
    again = import_tools(store, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert store.imports.tools() == kept
    TOOLS_CHANGED = {"nodes": [{"id": "file_write", "desc": "Write a new file"}]}
    path.write_text(json.dumps(TOOLS_CHANGED))
    assert import_tools(store, path).updated == 1
    assert [t["description"] for t in store.imports.tools()] == ["Modify a file", "Write a new file"]


@pytest.mark.parametrize("content, reason", [
    (b"\x89PNG\x00\x01", "not a tool description file: invalid JSON"),
    (b'{"nodes": [{"desc": "no id"}]}', "not a tool description file: nodes[0].id: expected the tool name"),
    (b'{"nodes": [{"id": "a"}, {"id": "a"}]}', "nodes[1].id: tool 'a' is described twice"),
])
def test_a_bad_tool_file_is_refused_whole_naming_the_entry(store, tmp_path, content, reason):
    path = tmp_path / "tool_desc.json"
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError) as exc:
        import_tools(store, path)
    assert reason in str(exc.value) and str(exc.value).startswith(str(path))
    assert store.imports.tools() == []
