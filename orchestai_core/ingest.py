"""Reading log files (.jsonl, .jsonl.gz, .json array) as a stream and importing them into the store.

Memory does not grow with the file: lines (or array items) are read one at a time and written in
batches. Each invalid line is rejected with its line number and a reason naming the field, and is kept
verbatim in the store; the valid lines of the same file are imported.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from orchestai_core.schema import LogError, parse_json, validate_log

BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 16


class UnreadableFileError(OSError):
    """The file cannot be opened or decompressed at all (as opposed to bad lines inside it)."""


@dataclass
class Record:
    """One line (or array item) of a log file: the log if valid, else the reason it was rejected."""

    line: int
    raw: bytes
    log: dict | None = None
    error: str | None = None


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[dict] = field(default_factory=list)
    batch_id: int | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("batch_id")
        return data


def _open_binary(path: Path) -> BinaryIO:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot open ({exc.strerror})") from None
    if fh.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
    return fh


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LogError(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})") from None


def _json_error(exc: json.JSONDecodeError) -> str:
    if exc.msg == "Extra data":
        return f"invalid JSON: unexpected text after the log at column {exc.colno}"
    return f"invalid JSON: {exc.msg} at column {exc.colno}"


def check_line(line_no: int, raw: bytes) -> Record:
    """Decode, parse and validate one line of a JSONL file."""
    try:
        log = validate_log(parse_json(_decode(raw)))
    except json.JSONDecodeError as exc:
        return Record(line_no, raw, error=_json_error(exc))
    except LogError as exc:
        return Record(line_no, raw, error=str(exc))
    return Record(line_no, raw, log=log)


def _jsonl_records(fh: BinaryIO) -> Iterator[Record]:
    for line_no, raw in enumerate(fh, start=1):
        if line_no == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        yield check_line(line_no, raw)


def _array_records(fh: BinaryIO) -> Iterator[Record]:
    """Stream the items of a top-level JSON array; `line` is the line each item starts on."""
    reader = _ArrayReader(io.TextIOWrapper(fh, encoding="utf-8-sig", errors="strict", newline=""))
    try:
        yield from reader.items()
    except UnicodeDecodeError as exc:
        yield Record(reader.line, b"", error=f"not valid UTF-8 ({exc.reason}); rest of the file skipped")


class _ArrayReader:
    """A small incremental reader of `[item, item, …]` over a text stream."""

    def __init__(self, text: io.TextIOBase):
        self.text = text
        self.decoder = json.JSONDecoder(parse_constant=float)
        self.buf, self.pos, self.line = "", 0, 1

    def _fill(self) -> bool:
        chunk = self.text.read(CHUNK)
        if not chunk:
            return False
        self.buf, self.pos = self.buf[self.pos:] + chunk, 0
        return True

    def _peek(self) -> str:
        """The next non-blank character ('' at the end of the file), counting lines on the way."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.line += self.buf[self.pos] == "\n"
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def _rest(self) -> bytes:
        return (self.buf[self.pos:] + self.text.read()).encode("utf-8")

    def _item(self) -> tuple[Record, bool]:
        """The next array item, and whether the array can be read on after it."""
        self._peek()
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self._fill():
                    return Record(self.line, self._rest(), error=_json_error(exc) + "; rest of the file skipped"), False
                continue
            if end < len(self.buf) or not self._fill():  # a number cut by the chunk edge must be re-read
                break
        raw = self.buf[self.pos:end]
        record = _validated(self.line, raw.encode("utf-8"), obj)
        self.line += raw.count("\n")
        self.pos = end
        return record, True

    def items(self) -> Iterator[Record]:
        if self._peek() != "[":
            yield Record(self.line, self._rest(), error="invalid JSON: expected a JSON array")
            return
        self.pos += 1
        if self._peek() == "]":
            self.pos += 1
        else:
            while True:
                record, readable = self._item()
                yield record
                if not readable:
                    return
                nxt = self._peek()
                self.pos += 1
                if nxt == "]":
                    break
                if nxt != ",":
                    yield Record(self.line, self._rest(), error="invalid JSON: expected ',' or ']' after an array item")
                    return
        if self._peek():
            yield Record(self.line, self._rest(), error="invalid JSON: unexpected text after the array")


def _validated(line: int, raw: bytes, obj: object) -> Record:
    try:
        _reject_non_finite(obj)
        return Record(line, raw, log=validate_log(obj))
    except LogError as exc:
        return Record(line, raw, error=str(exc))


def _reject_non_finite(obj: object) -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise LogError("invalid JSON: NaN and Infinity are not valid JSON numbers")
    if isinstance(obj, dict):
        for value in obj.values():
            _reject_non_finite(value)
    elif isinstance(obj, list):
        for value in obj:
            _reject_non_finite(value)


def _is_array(fh: BinaryIO) -> bool:
    head = fh.peek(64)
    return head.lstrip(BOM).lstrip(b" \t\r\n").startswith(b"[")


def read_records(path: str | os.PathLike) -> Iterator[Record]:
    """Every non-blank line (or array item) of a log file, validated. Raises UnreadableFileError."""
    path = Path(path)
    fh = _open_binary(path)
    try:
        if _is_array(fh):
            yield from _array_records(fh)
        else:
            yield from _jsonl_records(fh)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFileError(f"{path}: cannot read ({exc})") from None
    finally:
        fh.close()


def import_file(store, path: str | os.PathLike, source_name: str | None = None,
                batch_size: int = 1000) -> ImportReport:
    """Import a log file into the store; each batch of valid logs is written in one transaction."""
    path = Path(path)
    report = ImportReport()
    report.batch_id = store.start_import(source_name or path.name)
    logs: list[dict] = []
    rejects: list[tuple[int, str, bytes]] = []

    def flush() -> None:
        if logs:
            counts = store.import_logs(logs, report.batch_id)
            report.imported += counts.imported
            report.updated += counts.updated
            report.unchanged += counts.unchanged
            logs.clear()
        if rejects:
            store.add_rejects(report.batch_id, rejects)
            rejects.clear()

    status = "failed"
    try:
        for record in read_records(path):
            report.read += 1
            if record.error:
                report.rejected += 1
                report.rejects.append({"line": record.line, "error": f"line {record.line}: {record.error}"})
                rejects.append((record.line, record.error, record.raw))
            else:
                logs.append(record.log)
            if len(logs) + len(rejects) >= batch_size:
                flush()
        flush()
        status = "completed"
    finally:
        store.finish_import(report.batch_id, status, report.read, report.imported, report.updated,
                            report.unchanged, report.rejected)
    return report
