"""Export: the latest revision of each log in canonical JSONL (plain or gzipped), written atomically,
that imports back to the same logs."""

import gzip
import json

import pytest

from orchestai_core.export import export_jsonl, export_logs, write_jsonl
from orchestai_core.ingest import import_file
from orchestai_core.schema import canonical_json
from orchestai_core.store import LogFilter, Store
from orchestai_core.training_data import load_examples


@pytest.fixture
def edited(store, make_log, spec_example):
    """The spec example, log b in two revisions and log c accepted."""
    store.logs.add([spec_example, make_log("b"), make_log("c")])
    store.logs.save_revision(make_log("b", instruction="Second version"), "ana")
    store.logs.set_review(["c"], "accepted", "ana")
    return store


def test_each_log_is_one_canonical_line_at_its_latest_revision(edited, tmp_path, spec_example, make_log):
    out = tmp_path / "out.jsonl"
    assert export_jsonl(edited, out) == 3
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines == [canonical_json(spec_example), canonical_json(make_log("b", instruction="Second version")),
                     canonical_json(make_log("c"))]
    assert out.read_bytes().endswith(b"\n") and b"\r" not in out.read_bytes()


def test_round_trip_import_export_import_export_is_byte_identical(tmp_path, write_lines, make_log, spec_example):
    messy = json.dumps(dict(reversed(list(make_log("m", meta={"k": "résumé 日本語"}).items()))), indent=None,
                       ensure_ascii=True).encode()
    source = write_lines([b"\xef\xbb\xbf" + json.dumps(spec_example).encode(), b"", messy,
                          json.dumps(make_log("b")).encode(),
                          json.dumps(make_log("b", instruction="Second version")).encode()], sep=b"\r\n")
    one, two = Store.open(tmp_path / "one.db"), Store.open(tmp_path / "two.db")
    import_file(one, source)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    export_jsonl(one, first)
    import_file(two, first)
    export_jsonl(two, second)
    assert first.read_bytes() == second.read_bytes()
    exported = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    assert exported == [spec_example, make_log("m", meta={"k": "résumé 日本語"}),
                        make_log("b", instruction="Second version")]


def test_gzipped_exports_are_reproducible_and_import_back(edited, tmp_path):
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    export_jsonl(edited, a)
    export_jsonl(edited, b)
    assert a.read_bytes() == b.read_bytes()
    plain = tmp_path / "plain.jsonl"
    export_jsonl(edited, plain)
    assert gzip.decompress(a.read_bytes()) == plain.read_bytes()
    again = Store.open(tmp_path / "again.db")
    assert import_file(again, a).imported == 3


def test_a_filter_selects_what_is_exported(edited, tmp_path):
    out = tmp_path / "accepted.jsonl"
    assert export_logs(edited, out, flt=LogFilter(review_status="accepted")) == 1
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["c"]
    assert export_logs(edited, out, flt=LogFilter(review_status="rejected")) == 0
    assert out.read_bytes() == b""


def test_the_training_format_is_written_through_the_same_entry_point(edited, tmp_path):
    out = tmp_path / "training_data.json"
    assert export_logs(edited, out, "training-json") == 3
    examples = load_examples(out)
    assert [e.id for e in examples] == ["log-000042", "b", "c"]
    assert examples[1].instruction == "Second version"


def test_an_unknown_format_is_refused(edited, tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'xml'"):
        export_logs(edited, tmp_path / "x.xml", "xml")
    assert not (tmp_path / "x.xml").exists()


def test_a_failed_export_leaves_the_previous_file_and_no_temporary(tmp_path, make_log):
    out = tmp_path / "logs.jsonl"
    write_jsonl([make_log("old")], out)
    before = out.read_bytes()

    def failing():
        yield make_log("new-1")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_jsonl(failing(), out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["logs.jsonl"]


def test_an_empty_store_exports_an_empty_file(store, tmp_path):
    out = tmp_path / "empty.jsonl"
    assert export_jsonl(store, out) == 0
    assert out.read_bytes() == b""


def test_choice_prob_survives_import_an_edit_that_leaves_it_export_and_import_again(tmp_path, write_lines, make_log):
    log = make_log("p")
    for task, prob in zip(log["subtasks"], (1, 0.25, 0.5, 1e-06)):
        task["choice_prob"] = prob
    beyond_one = make_log("bad")
    beyond_one["subtasks"][0]["choice_prob"] = 1.5
    one, two = Store.open(tmp_path / "one.db"), Store.open(tmp_path / "two.db")
    report = import_file(one, write_lines([log, beyond_one]))
    assert report.imported == 1
    assert report.rejects == [{"line": 2, "error": "line 2: subtasks[0].choice_prob: must be in (0, 1], got 1.5"}]
    one.logs.save_revision({**one.logs.get("p"), "instruction": "Edited"}, "ana")
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    export_jsonl(one, first)
    import_file(two, first)
    export_jsonl(two, second)
    assert first.read_bytes() == second.read_bytes()
    assert two.logs.get("p") == {**log, "instruction": "Edited"}
    assert type(two.logs.get("p")["subtasks"][0]["choice_prob"]) is int  # 1 stays 1, not 1.0


def test_the_training_format_carries_choice_probs_in_node_order(store, tmp_path, make_log):
    log = make_log("p")
    log["subtasks"][1]["choice_prob"] = 0.25
    log["subtasks"][3]["choice_prob"] = 1
    store.logs.add([log])
    out = tmp_path / "training_data.json"
    export_logs(store, out, "training-json")
    assert load_examples(out)[0].choice_probs == [None, 0.25, None, 1]
