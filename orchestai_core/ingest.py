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
import multiprocessing
import os
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from orchestai_core.schema import LogError, parse_json, validate_log
from orchestai_core.store import PreparedLog, prepare_log

BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 16
PARALLEL_MIN_BYTES = 8 << 20  # files from 8 MiB up are checked in a second process


class UnreadableFileError(OSError):
    """The file cannot be opened or decompressed at all (as opposed to bad lines inside it)."""


@dataclass
class Record:
    """One line (or array item) of a log file: the log if valid, else the reason it was rejected."""

    line: int
    raw: bytes
    log: dict | None = None
    error: str | None = None
    prepared: PreparedLog | None = None  # set instead of `log` when checked in a helper process


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
    if exc.msg in ("Extra data", "unexpected content after document"):
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


def _jsonl_lines(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each non-blank line, without BOM and line end."""
    for line_no, raw in enumerate(fh, start=1):
        if line_no == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        raw = raw.rstrip(b"\r\n")
        if raw.strip():
            yield line_no, raw


def check_lines(lines: list[tuple[int, bytes]]) -> list[Record]:
    """Check a chunk of lines (runs in a helper process for large files): valid records drop
    their raw bytes, which only rejects need."""
    records = [check_line(n, raw) for n, raw in lines]
    for record in records:
        if record.error is None:
            record.raw, record.prepared, record.log = b"", prepare_log(record.log), None
    return records


def _chunks(lines: Iterator[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for item in lines:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _parallel_records(lines: Iterator[tuple[int, bytes]], chunk_size: int = 500, ahead: int = 6,
                      workers: int = 2) -> Iterator[Record]:
    """Parse and validate in helper processes while this one consumes (writes) the records, in order."""
    context = multiprocessing.get_context("spawn")  # never fork a threaded server
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque = deque()
        chunks = _chunks(lines, chunk_size)
        for chunk in chunks:
            pending.append(pool.submit(check_lines, chunk))
            if len(pending) >= ahead:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


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


def read_records(path: str | os.PathLike, parallel: bool | None = False) -> Iterator[Record]:
    """Every non-blank line (or array item) of a log file, validated. Raises UnreadableFileError.

    With `parallel`, JSON Lines are checked in helper processes (worth it for large files); None
    decides by the file's size. Helper processes are spawned, which re-imports the caller's main
    script: only scripts guarded by `if __name__ == "__main__"` (the CLI, the benchmarks) may ask
    for them — never a Streamlit page.
    """
    path = Path(path)
    fh = _open_binary(path)
    if parallel is None:
        parallel = os.fstat(fh.fileno()).st_size >= PARALLEL_MIN_BYTES
    try:
        if _is_array(fh):
            yield from _array_records(fh)
        elif parallel:
            yield from _parallel_records(_jsonl_lines(fh))
        else:
            for line_no, raw in _jsonl_lines(fh):
                yield check_line(line_no, raw)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:  # zlib: a damaged compressed stream
        raise UnreadableFileError(f"{path}: cannot read ({exc})") from None
    finally:
        fh.close()


def _batches(path: Path, batch_size: int, parallel: bool | None) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in read_records(path, parallel=parallel):
        batch.append(record)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_file(store, path: str | os.PathLike, source_name: str | None = None,
                batch_size: int = 1000, parallel: bool | None = False) -> ImportReport:
    """Import a log file into the store; each batch of valid logs is written in one transaction.

    Rejected lines are stored verbatim with their reason. Raises UnreadableFileError when the file
    cannot be read at all; the import batch is then recorded as failed. `parallel`: see read_records.
    """
    path = Path(path)
    report = ImportReport()
    report.batch_id = store.start_import(source_name or path.name)
    status = "failed"
    try:
        for batch in _batches(path, batch_size, parallel):
            entries = [r.prepared or prepare_log(r.log) for r in batch if r.error is None]
            rejects = [(r.line, r.error, r.raw) for r in batch if r.error is not None]
            report.read += len(batch)
            if entries:
                counts = store.import_prepared(entries, report.batch_id)
                report.imported += counts.imported
                report.updated += counts.updated
                report.unchanged += counts.unchanged
            if rejects:
                store.add_rejects(report.batch_id, rejects)
                report.rejected += len(rejects)
                report.rejects += [{"line": line, "error": f"line {line}: {error}"} for line, error, _ in rejects]
        status = "completed"
    finally:
        store.finish_import(report.batch_id, status, report.read, report.imported, report.updated,
                            report.unchanged, report.rejected)
    return report
