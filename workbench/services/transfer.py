"""Import from a browser upload and export to a download, through the same library code as the CLI.

Uploads are copied to a temporary file in the database's folder (`uploads/`) under a name we choose;
nothing the user sends decides a path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from orchestai_core.export import export_logs
from orchestai_core.ingest import ImportReport, import_file, import_tools
from orchestai_core.store import LogFilter, Store, ToolCounts

UPLOAD_SUFFIXES = (".jsonl.gz", ".jsonl", ".json")
UPLOAD_FORMATS = {"log": "OrchestAI logs", "taskbench": "TaskBench rows (TaskBench, GNN4TaskPlan, UltraTool)"}
EXPORT_FILES = {"jsonl": "orchestai_logs.jsonl", "training-json": "training_data.json"}
CHUNK = 1 << 20


class UploadError(ValueError):
    """An upload the workbench refuses (wrong kind of file, too large); the message says which and why."""


def upload_suffix(name: str) -> str:
    """The accepted suffix the file name ends with."""
    lowered = name.lower()
    for suffix in UPLOAD_SUFFIXES:
        if lowered.endswith(suffix):
            return suffix
    raise UploadError(f"{name}: expected a .jsonl, .jsonl.gz or .json log file")


def _scratch(store: Store, kind: str) -> Path:
    folder = store.path.resolve().parent / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def _uploaded(store: Store, name: str, stream: BinaryIO, max_bytes: int, suffix: str) -> Iterator[str]:
    """The upload copied to a temporary file (refusing more than `max_bytes`), removed afterwards."""
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=suffix, dir=_scratch(store, "uploads"))
    try:
        with os.fdopen(fd, "wb") as out:
            written = 0
            while chunk := stream.read(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise UploadError(f"{name}: larger than the upload limit of {max_bytes / 2**20:.0f} MB")
                out.write(chunk)
        yield tmp
    finally:
        os.unlink(tmp)


def import_upload(store: Store, name: str, stream: BinaryIO, max_bytes: int, fmt: str = "log") -> ImportReport:
    """Import an upload of logs (or, with fmt="taskbench", of TaskBench rows)."""
    with _uploaded(store, name, stream, max_bytes, upload_suffix(name)) as tmp:
        return import_file(store, tmp, source_name=Path(name).name, fmt=fmt)


def import_tools_upload(store: Store, name: str, stream: BinaryIO, max_bytes: int) -> ToolCounts:
    """Keep the tool descriptions of an uploaded TaskBench `tool_desc.json`."""
    if not name.lower().endswith(".json"):
        raise UploadError(f"{name}: expected a .json file of tool descriptions (TaskBench tool_desc.json)")
    with _uploaded(store, name, stream, max_bytes, ".json") as tmp:
        return import_tools(store, tmp, name=Path(name).name)


def rejected_lines(store: Store, batch_id: int) -> bytes:
    """The rejected lines of one import, verbatim, one per line."""
    return b"".join(bytes(r["raw"]) + b"\n" for r in store.imports.rejects(batch_id))


def export_bytes(store: Store, fmt: str, flt: LogFilter) -> bytes:
    """The export file's content, written by `export_logs` to a temporary file in the data folder."""
    folder = _scratch(store, "exports")
    tmp = Path(tempfile.mkdtemp(prefix="export-", dir=folder))
    try:
        out = tmp / EXPORT_FILES[fmt]
        export_logs(store, out, fmt, flt)
        return out.read_bytes()
    finally:
        shutil.rmtree(tmp)
