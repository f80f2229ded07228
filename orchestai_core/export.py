"""Exporting logs from the store: spec JSONL (optionally gzipped) or the training file.

Files are written to a temporary name and renamed into place, so a failed export never leaves a
half-written file where a good one was.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable
from pathlib import Path

from orchestai_core.schema import canonical_json
from orchestai_core.store import LogFilter, Store
from orchestai_core.training_data import write_training_json

FORMATS = ("jsonl", "training-json")


def write_jsonl(logs: Iterable[dict], out: str | os.PathLike) -> int:
    """Write logs one per line in canonical form, atomically; `.gz` names are gzipped
    (reproducibly: no timestamp in the header). Return the number written."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    count = 0
    try:
        raw = open(tmp, "wb")
        with raw, (gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) if out.suffix == ".gz" else raw) as fh:
            for log in logs:
                fh.write((canonical_json(log) + "\n").encode("utf-8"))
                count += 1
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def export_jsonl(store: Store, out: str | os.PathLike, flt: LogFilter | None = None) -> int:
    """Write the latest revision of each matching log, one per line."""
    return write_jsonl(store.logs.iterate(flt=flt), out)


def export_logs(store: Store, out: str | os.PathLike, fmt: str = "jsonl", flt: LogFilter | None = None) -> int:
    """Export in one of FORMATS; return the number of logs written."""
    if fmt == "jsonl":
        return export_jsonl(store, out, flt)
    if fmt == "training-json":
        return write_training_json(store.logs.iterate(flt=flt), out)
    raise ValueError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")
