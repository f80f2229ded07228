"""Uploads and downloads of the workbench: temporary files in the data folder, same code as the CLI."""

import gzip
import io
import json

import pytest

from orchestai_core.ingest import NotALogFileError
from orchestai_core.schema import canonical_json
from orchestai_core.store import LogFilter
from workbench.services.transfer import (
    UploadError,
    export_bytes,
    import_tools_upload,
    import_upload,
    rejected_lines,
    upload_suffix,
)


@pytest.mark.parametrize("name, suffix", [("a.jsonl", ".jsonl"), ("A.JSONL.GZ", ".jsonl.gz"), ("x.json", ".json")])
def test_upload_suffix_accepts_log_files(name, suffix):
    assert upload_suffix(name) == suffix


@pytest.mark.parametrize("name", ["logs.csv", "logs.gz", "../../etc/passwd", "logs.jsonl.zip"])
def test_upload_suffix_refuses_anything_else(name):
    with pytest.raises(UploadError, match="expected a .jsonl, .jsonl.gz or .json log file"):
        upload_suffix(name)


def test_gzipped_upload_is_imported_under_its_base_name(store, make_log):
    content = gzip.compress(b"\n".join(json.dumps(make_log(f"log-{i}")).encode() for i in range(3)))
    report = import_upload(store, "../../nightly.jsonl.gz", io.BytesIO(content), max_bytes=1 << 20)
    assert report.imported == 3
    assert store.imports.batches()[0]["source_name"] == "nightly.jsonl.gz"
    assert list((store.path.parent / "uploads").iterdir()) == []


def test_upload_over_the_limit_is_refused_and_leaves_nothing(store, make_log):
    content = json.dumps(make_log("log-1")).encode() * 3
    with pytest.raises(UploadError, match="larger than the upload limit"):
        import_upload(store, "big.jsonl", io.BytesIO(content), max_bytes=100)
    assert store.logs.count() == 0
    assert list((store.path.parent / "uploads").iterdir()) == []


def test_rejected_lines_come_back_verbatim(store, make_log):
    raw = [b'{"id": 1, "oops"', "{\"id\": \"é\"}".encode()]
    content = b"\n".join([json.dumps(make_log("ok")).encode(), *raw])
    report = import_upload(store, "mixed.jsonl", io.BytesIO(content), max_bytes=1 << 20)
    assert rejected_lines(store, report.batch_id) == raw[0] + b"\n" + raw[1] + b"\n"


def test_export_bytes_round_trip_and_training_file(store, make_log):
    logs = [make_log(f"log-{i}", template=f"tpl-{i % 2}") for i in range(4)]
    store.logs.add(logs)
    jsonl = export_bytes(store, "jsonl", LogFilter(template="tpl-1")).decode().splitlines()
    assert jsonl == [canonical_json(logs[1]), canonical_json(logs[3])]
    training = json.loads(export_bytes(store, "training-json", LogFilter()))
    assert [e["id"] for e in training["examples"]] == ["log-0", "log-1", "log-2", "log-3"]
    assert list((store.path.parent / "exports").iterdir()) == []


def test_a_binary_upload_is_refused_whole_under_its_own_name(store):
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 25
    with pytest.raises(NotALogFileError, match=r"^photo\.jsonl: not a log file: it holds binary data"):
        import_upload(store, "photo.jsonl", io.BytesIO(content), max_bytes=1 << 20)
    assert store.imports.rejects() == [] and list((store.path.parent / "uploads").iterdir()) == []


def test_taskbench_upload_and_its_tool_descriptions(store):
    row = {"user_request": "Write, then send.", "task_nodes": [{"task": "write"}, {"task": "send"}],
           "task_links": [{"source": "write", "target": "send"}], "task_steps": ["Call write", "Call send"]}
    report = import_upload(store, "train.jsonl", io.BytesIO(json.dumps(row).encode()), 1 << 20, fmt="taskbench")
    assert report.imported == 1 and store.logs.get("taskbench-1")["subtasks"][1]["depends_on"] == ["s1"]
    tools = json.dumps({"nodes": [{"id": "write", "desc": "Write a file"}]}).encode()
    counts = import_tools_upload(store, "../tool_desc.json", io.BytesIO(tools), 1 << 20)
    assert counts.added == 1 and store.imports.tools()[0]["source"] == "tool_desc.json"
    with pytest.raises(UploadError, match="expected a .json file of tool descriptions"):
        import_tools_upload(store, "tools.yaml", io.BytesIO(tools), 1 << 20)
