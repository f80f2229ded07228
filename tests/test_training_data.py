"""Training examples: canonical node order, the training file round trip, and loading from log files."""

import gzip
import json

import pytest

from orchestai_core.examples import Example, Skipped, cuts, skipped_message
from orchestai_core.ingest import NotALogFileError
from orchestai_core.training_data import (
    TRAINING_FORMAT,
    example_from_log,
    examples_from_store,
    load_examples,
    write_training_json,
)


def test_the_spec_example_becomes_an_example_with_everything_training_needs(spec_example):
    example = example_from_log(spec_example)
    assert example == Example(
        id="log-000042", instruction=spec_example["instruction"], template="doc-summarize-translate",
        types=["extract_text", "summarize", "translate", "translate"],
        workers=["gpt-4o-mini", "gpt-4o-mini", "nllb-200", "nllb-200"],
        parents=[[], [0], [1], [1]], costs=[0.0003, 0.0009, 0.0002, 0.0002], latencies=[640, 1810, 420, 455],
        success=True, choice_probs=[None, None, None, None], statuses=["success"] * 4)


def test_choice_probs_follow_the_canonical_node_order(make_log):
    log = make_log("x")
    log["subtasks"] = list(reversed(log["subtasks"]))  # s4, s3, s2, s1
    for task, prob in zip(log["subtasks"], (0.4, 0.3, 1, 0.9)):
        task["choice_prob"] = prob
    assert example_from_log(log).choice_probs == [0.9, 1, 0.4, 0.3]  # s1, s2, s4, s3


def test_statuses_follow_the_canonical_node_order(make_log):
    log = make_log("x")
    log["subtasks"] = list(reversed(log["subtasks"]))  # s4, s3, s2, s1
    log["subtasks"][0]["status"] = "failed"
    del log["subtasks"][1]["status"]
    assert example_from_log(log).statuses == ["success", "success", "failed", None]  # s1, s2, s4, s3


def test_nodes_are_reordered_so_every_parent_comes_first(make_log):
    log = make_log("x")
    log["subtasks"] = list(reversed(log["subtasks"]))  # children listed before parents
    example = example_from_log(log)
    assert example.types == ["extract_text", "summarize", "translate", "translate"]
    assert example.parents == [[], [0], [1], [1]]
    assert example.latencies == [640, 1810, 455, 420]  # s4 before s3: ties keep the log's order
    assert all(p < i for i, ps in enumerate(example.parents) for p in ps)


def test_missing_optional_fields_become_none():
    log = {"id": "m", "instruction": "Do it", "subtasks": [{"id": "a", "type": "t"}, {"id": "b", "type": "u",
                                                                                      "depends_on": ["a", "a"]}]}
    example = example_from_log(log)
    assert (example.template, example.success, example.workers, example.costs, example.latencies,
            example.parents) == (None, None, [None, None], [None, None], [None, None], [[], [0]])


def test_training_file_round_trip(tmp_path, make_log):
    path = tmp_path / "training_data.json"
    assert write_training_json([make_log("a"), make_log("b", template="other")], path) == 2
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == TRAINING_FORMAT and len(data["examples"]) == 2
    examples = load_examples(path)
    assert examples == [example_from_log(make_log("a")), example_from_log(make_log("b", template="other"))]
    assert not list(tmp_path.glob("*.tmp"))


def test_a_failed_training_write_keeps_the_previous_file(tmp_path, make_log):
    path = tmp_path / "training_data.json"
    write_training_json([make_log("a")], path)
    before = path.read_bytes()
    cyclic = make_log("c")
    cyclic["subtasks"][0]["depends_on"] = ["s4"]
    with pytest.raises(ValueError, match="cycle"):
        write_training_json([make_log("b"), cyclic], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["training_data.json"]


@pytest.mark.parametrize("name", ["logs.jsonl", "logs.jsonl.gz", "logs.json"])
def test_examples_load_from_every_log_file_form(tmp_path, make_log, name):
    logs = [make_log("a"), make_log("b")]
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress("\n".join(json.dumps(l) for l in logs).encode()))
    elif name.endswith(".json"):
        path.write_text(json.dumps(logs, indent=2))
    else:
        path.write_text("\n".join(json.dumps(l) for l in logs))
    assert load_examples(path) == [example_from_log(l) for l in logs]


def test_a_bad_log_line_stops_loading_with_its_line(write_lines, make_log):
    path = write_lines([make_log("a"), make_log("b", colour="red")])
    with pytest.raises(ValueError, match=r"line 2: colour: unknown top-level field"):
        load_examples(path)


def test_a_json_object_that_is_not_a_training_file_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"format": "something-else", "examples": []}')
    with pytest.raises(ValueError, match="not a training file"):
        load_examples(path)


def test_examples_from_the_store_use_the_latest_revision_and_can_filter_by_review(store, make_log):
    store.logs.add([make_log("a"), make_log("b")])
    store.logs.save_revision(make_log("a", instruction="Edited"), "ana")
    store.logs.set_review(["b"], "accepted", "ana")
    assert [(e.id, e.instruction) for e in examples_from_store(store)] == [
        ("a", "Edited"), ("b", make_log("b")["instruction"])]
    assert [e.id for e in examples_from_store(store, status="accepted")] == ["b"]


def _example(id_, steps):
    return Example(id=id_, instruction="x", template=None, types=["t"] * steps, workers=[None] * steps,
                   parents=[[]] * steps)


def test_cuts_name_the_logs_too_long_for_the_model_and_the_setting_that_limits_them():
    examples = [_example(f"log-{i}", steps) for i, steps in enumerate([3, 9, 4, 12])]
    found = cuts(examples, token_counts=[20, 140, 128, 30], max_length=128, max_nodes=8)
    assert [(c.what, c.ids, c.total) for c in found] == [("instructions", ["log-1"], 4),
                                                          ("workflows", ["log-1", "log-3"], 4)]
    assert found[0].message == ("1 of 4 instructions are longer than the encoder reads (128 tokens, "
                                "encoder.max_length) and are truncated: log-1")
    assert found[1].message == ("2 of 4 workflows have more than 8 sub-tasks (model.max_nodes); the model learns "
                                "and plans the first 8 only: log-1, log-3")
    assert cuts(examples, [20, 30, 40, 50], max_length=128, max_nodes=12) == []


def test_a_cut_names_a_few_logs_and_says_there_are_more():
    examples = [_example(f"log-{i}", 2) for i in range(7)]
    message = cuts(examples, [500] * 7, max_length=128, max_nodes=8)[0].message
    assert message.startswith("7 of 7 instructions") and message.endswith(": log-0, log-1, log-2, log-3, log-4, …")


def test_bad_log_lines_are_skipped_with_line_and_reason_when_asked(write_lines, make_log):
    path = write_lines([make_log("a"), make_log("b", colour="red"), b"{broken", make_log("c")])
    skipped: list[Skipped] = []
    assert [e.id for e in load_examples(path, skipped)] == ["a", "c"]
    assert [(s.line, s.error.split(":")[0]) for s in skipped] == [(2, "colour"), (3, "invalid JSON")]
    assert skipped[0].message.startswith("line 2: skipped: colour: unknown top-level field")


def test_the_skipped_message_counts_them_all_and_names_the_first_five():
    skipped = [Skipped(n, "instruction: required field missing") for n in range(1, 8)]
    message = skipped_message(skipped)
    assert message.startswith("7 invalid log(s) skipped: line 1: instruction: required field missing; line 2:")
    assert "line 5:" in message and "line 6:" not in message and message.endswith("; …")
    assert skipped_message(skipped[:1]) == "1 invalid log(s) skipped: line 1: instruction: required field missing"


def test_a_file_that_is_not_a_log_file_is_refused_whole(tmp_path):
    path = tmp_path / "photo.jsonl"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(NotALogFileError, match="not a log file: it holds binary data"):
        load_examples(path, [])
