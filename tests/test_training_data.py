"""Training examples: canonical node order and the training file round trip."""

from orchestai_core.training_data import example_from_log, load_examples, write_training_json


def test_nodes_are_reordered_so_every_parent_comes_first(make_log):
    log = make_log("x")
    log["subtasks"] = list(reversed(log["subtasks"]))  # children listed before parents
    example = example_from_log(log)
    assert example.types == ["extract_text", "summarize", "translate", "translate"]
    assert example.parents == [[], [0], [1], [1]]
    assert all(p < i for i, ps in enumerate(example.parents) for p in ps)
    assert example.workers[0] == "gpt-4o-mini"


def test_training_file_round_trip(tmp_path, make_log):
    path = tmp_path / "training_data.json"
    assert write_training_json([make_log("a"), make_log("b")], path) == 2
    examples = load_examples(path)
    assert [e.id for e in examples] == ["a", "b"]
    assert examples[0] == example_from_log(make_log("a"))
    assert not list(tmp_path.glob("*.tmp"))
