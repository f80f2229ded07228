"""Importing files: every kind of bad line is rejected and kept, the good lines go in, re-imports are idempotent."""

import gzip
import json
import subprocess
import sys

import pytest

from orchestai_core.ingest import NotALogFileError, UnreadableFileError, import_file, read_records


def test_bad_lines_are_rejected_with_line_and_field_while_good_lines_import(store, write_lines, make_log):
    cyclic = make_log("cyc")
    cyclic["subtasks"][0]["depends_on"] = ["s4"]
    unknown_dep = make_log("dep")
    unknown_dep["subtasks"][3]["depends_on"] = ["s9"]
    lines = [
        make_log("good-1"),
        b"{broken",
        b"\xff\xfe not utf-8",
        {"id": "no-instruction", "subtasks": [{"id": "a", "type": "t"}]},
        make_log("empty", instruction=""),
        make_log("wrong-type", success="yes"),
        unknown_dep,
        cyclic,
        make_log("unknown-field", colour="red"),
        json.dumps(make_log("garbage")).encode() + b" trailing",
        b'{"id": "nan", "instruction": "x", "subtasks": [{"id": "a", "type": "t", "cost_usd": NaN}]}',
        make_log("good-2"),
    ]
    path = write_lines(lines)
    report = import_file(store, path)
    assert (report.read, report.imported, report.rejected) == (12, 2, 10)
    errors = {r["line"]: r["error"] for r in report.rejects}
    assert errors[2].startswith("line 2: invalid JSON")
    assert errors[3] == "line 3: not valid UTF-8 (byte 0xff at column 1)"
    assert errors[4] == "line 4: instruction: required field missing"
    assert errors[5] == "line 5: instruction: must not be empty"
    assert errors[6].startswith("line 6: success: expected a boolean")
    assert errors[7] == "line 7: subtasks[3].depends_on: unknown subtask id 's9'"
    assert "dependency cycle" in errors[8] and errors[8].startswith("line 8: subtasks[0].depends_on")
    assert errors[9].startswith("line 9: colour: unknown top-level field")
    assert errors[10].startswith("line 10: invalid JSON: unexpected text after the log")
    assert errors[11].startswith("line 11: invalid JSON")
    assert store.logs.count() == 2
    kept = {r["line"]: bytes(r["raw"]) for r in store.imports.rejects(report.batch_id)}
    assert kept[3] == b"\xff\xfe not utf-8"
    assert kept[10] == lines[9]
    assert store.imports.batches()[0]["rejected"] == 10


def test_bom_blank_lines_and_windows_line_ends_are_accepted(store, write_lines, make_log):
    path = write_lines([b"\xef\xbb\xbf" + json.dumps(make_log("a")).encode(), b"", b"   ",
                        json.dumps(make_log("b")).encode(), b""], sep=b"\r\n")
    report = import_file(store, path)
    assert (report.read, report.imported, report.rejected) == (2, 2, 0)
    assert [r.line for r in read_records(path)] == [1, 4]


def test_gzipped_jsonl_and_json_arrays_are_read(store, tmp_path, make_log):
    gz = tmp_path / "logs.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("\n".join(json.dumps(make_log(f"g{i}")) for i in range(3)))
    array = tmp_path / "logs.json"
    array.write_text(json.dumps([make_log("a1"), make_log("a2", colour=1), make_log("a3")], indent=2))
    assert import_file(store, gz).imported == 3
    report = import_file(store, array)
    assert (report.imported, report.rejected) == (2, 1)
    assert "colour: unknown top-level field" in report.rejects[0]["error"]


def test_a_broken_json_array_keeps_the_items_before_the_break(store, tmp_path, make_log):
    path = tmp_path / "logs.json"
    path.write_text("[" + json.dumps(make_log("a1")) + ", {oops ]")
    report = import_file(store, path)
    assert (report.imported, report.rejected) == (1, 1)
    assert "rest of the file skipped" in report.rejects[0]["error"]


def test_importing_the_same_file_twice_adds_nothing(store, write_lines, make_log):
    path = write_lines([make_log(f"l{i}") for i in range(5)])
    import_file(store, path)
    again = import_file(store, path)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 5)
    assert store.conn.execute("SELECT count(*) FROM revisions").fetchone()[0] == 5


def test_changed_content_becomes_a_new_revision_and_revision_one_is_kept(store, write_lines, make_log):
    import_file(store, write_lines([make_log("l1")], name="a.jsonl"))
    changed = make_log("l1", instruction="A different request")
    report = import_file(store, write_lines([changed], name="b.jsonl"))
    assert (report.imported, report.updated) == (0, 1)
    assert store.logs.count() == 1
    assert [r["revision"] for r in store.logs.revisions("l1")] == [1, 2]
    assert store.logs.get("l1", 1) == make_log("l1")
    assert store.logs.get("l1")["instruction"] == "A different request"
    # Re-importing the original content matches revision 1: nothing new.
    assert import_file(store, write_lines([make_log("l1")], name="c.jsonl")).unchanged == 1


PARALLEL_CHECK = """
import sys
from orchestai_core.ingest import read_records

if __name__ == "__main__":
    path = sys.argv[1]
    sequential = [(r.line, r.error, r.log["id"] if r.log else None) for r in read_records(path)]
    parallel = [(r.line, r.error, r.prepared.id if r.prepared else None) for r in read_records(path, parallel=True)]
    assert parallel == sequential, "parallel checking differs"
    print(len(parallel))
"""


def test_parallel_checking_gives_the_same_records_as_sequential(write_lines, make_log, tmp_path):
    # In a fresh interpreter: spawned helpers re-import the caller's main script, which inside
    # pytest may be a page an AppTest ran.
    path = write_lines([make_log(f"l{i}") if i % 7 else b"{bad" for i in range(1200)])
    script = tmp_path / "check.py"
    script.write_text(PARALLEL_CHECK)
    result = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1200"


def test_a_missing_or_corrupt_file_is_unreadable(store, tmp_path):
    with pytest.raises(UnreadableFileError, match="cannot open"):
        import_file(store, tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"\x1f\x8b" + b"\x00" * 30)
    with pytest.raises(UnreadableFileError, match="cannot read"):
        import_file(store, bad)
    assert store.imports.batches()[0]["status"] == "failed"


def test_a_damaged_compressed_stream_is_unreadable_not_a_crash(store, tmp_path):
    good = gzip.compress(b"".join(b'{"id": "l%d"}\n' % i for i in range(500)))
    damaged = tmp_path / "damaged.jsonl.gz"
    damaged.write_bytes(good[:20] + b"\xff" * 8 + good[28:])  # the deflate block header is garbage
    with pytest.raises(UnreadableFileError, match="damaged.jsonl.gz: cannot read"):
        import_file(store, damaged)
    assert store.imports.batches()[0]["status"] == "failed"


def test_a_json_array_item_with_a_bad_choice_prob_is_rejected_with_its_line(store, tmp_path, make_log):
    good, bad = make_log("good"), make_log("bad")
    good["subtasks"][0]["choice_prob"] = 0.5
    bad["subtasks"][2]["choice_prob"] = 0
    path = tmp_path / "logs.json"
    path.write_text("[\n" + json.dumps(good) + ",\n" + json.dumps(bad) + "\n]")
    report = import_file(store, path)
    assert report.imported == 1
    assert report.rejects == [{"line": 3, "error": "line 3: subtasks[2].choice_prob: must be in (0, 1], got 0"}]
    assert store.logs.get("good")["subtasks"][0]["choice_prob"] == 0.5


BINARY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 25  # 26 "lines" of an image renamed .jsonl


@pytest.mark.parametrize("content, reason", [
    (BINARY, "not a log file: it holds binary data, not text (line 1: not valid UTF-8 (byte 0x89 at column 1));"
             " expected JSON Lines, one log per line"),
    (b"", "empty: no logs in it"),
    (b"\n  \n\r\n", "empty: no logs in it"),
    (b"[]", "empty: no logs in it"),
    (b"id,instruction\n1,hello\n", "not a log file: none of its first 2 lines is a JSON object (line 1: invalid JSON:"),
    (b"hello", "not a log file: its only line is not a JSON object (line 1: invalid JSON:"),
    (b"1\n2\n3\n", "not a log file: none of its first 3 lines is a JSON object "
                    "(line 1: log: expected a JSON object, got integer)"),
])
def test_a_file_that_is_not_a_log_file_is_refused_with_one_reason_and_nothing_is_written(store, tmp_path, content,
                                                                                         reason):
    path = tmp_path / "upload.jsonl"
    path.write_bytes(content)
    with pytest.raises(NotALogFileError) as exc:
        import_file(store, path, source_name="photo.jsonl")
    assert str(exc.value).startswith("photo.jsonl: " + reason)
    assert store.imports.rejects() == [] and store.logs.count() == 0
    assert store.imports.batches()[0]["status"] == "failed"


def test_only_the_first_twenty_lines_decide_and_a_single_json_object_makes_it_a_log_file(store, write_lines, make_log):
    with pytest.raises(NotALogFileError, match="none of its first 20 lines"):
        import_file(store, write_lines([b"{bad"] * 20 + [make_log("late")]))
    report = import_file(store, write_lines([b"{bad"] * 19 + [{"id": "x"}, make_log("late")]))
    assert (report.read, report.imported, report.rejected) == (21, 1, 20)  # a log file with bad lines: all kept
    assert len(store.imports.rejects(report.batch_id)) == 20
