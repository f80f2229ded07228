"""Reading log files (.jsonl, .jsonl.gz, .json array) as a stream and importing them into the store.

Memory does not grow with the file: lines (or array items) are read one at a time and written in
batches. Each invalid line is rejected with its line number and a reason naming the field, and is kept
verbatim in the store; the valid lines of the same file are imported. Lines are logs of our format or,
with `fmt="taskbench"`, TaskBench rows converted by `taskbench.row_to_log`. A file none of whose first
lines is a JSON object (binary, not JSON Lines, empty) is refused whole with one reason
(NotALogFileError) instead of a reject per line.
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
from orchestai_core.store import PreparedLog, ToolCounts, prepare_log
from orchestai_core.taskbench import row_to_log, tool_descriptions

FORMATS = ("log", "taskbench")  # what each line is: a log of our format, or a TaskBench row

BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 16
PARALLEL_MIN_BYTES = 8 << 20  # files from 8 MiB up are checked in a second process
SNIFF_LINES = 20  # a file none of whose first 20 lines is a JSON object is not a log file


class UnreadableFileError(OSError):
    """The file cannot be opened or decompressed at all (as opposed to bad lines inside it)."""


class NotALogFileError(UnreadableFileError):
    """The file reads, but is no log file at all: empty, binary, or text whose lines are not JSON objects."""


@dataclass
class Record:
    """One line (or array item) of a log file: the log if valid, else the reason it was rejected."""

    line: int
    raw: bytes
    log: dict | None = None
    error: str | None = None
    prepared: PreparedLog | None = None  # set instead of `log` when checked in a helper process
    is_object: bool = False  # the line is a JSON object (a log, or at least an attempt at one)


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


def _open_binary(path: Path, name: str) -> BinaryIO:
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise UnreadableFileError(f"{name}: cannot open ({exc.strerror})") from None
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


def check_line(line_no: int, raw: bytes, fmt: str = "log") -> Record:
    """Decode, parse and validate one line of a JSONL file (converting it first when `fmt` is taskbench)."""
    try:
        obj = parse_json(_decode(raw))
    except json.JSONDecodeError as exc:
        return Record(line_no, raw, error=_json_error(exc))
    except LogError as exc:
        return Record(line_no, raw, error=str(exc))
    return _validated(line_no, raw, obj, fmt)


def _jsonl_lines(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each non-blank line, without BOM and line end."""
    for line_no, raw in enumerate(fh, start=1):
        if line_no == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        raw = raw.rstrip(b"\r\n")
        if raw.strip():
            yield line_no, raw


def check_lines(lines: list[tuple[int, bytes]], fmt: str = "log") -> list[Record]:
    """Check a chunk of lines (runs in a helper process for large files): valid records drop
    their raw bytes, which only rejects need."""
    records = [check_line(n, raw, fmt) for n, raw in lines]
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


def _parallel_records(lines: Iterator[tuple[int, bytes]], fmt: str, chunk_size: int = 500, ahead: int = 6,
                      workers: int = 2) -> Iterator[Record]:
    """Parse and validate in helper processes while this one consumes (writes) the records, in order."""
    context = multiprocessing.get_context("spawn")  # never fork a threaded server
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque = deque()
        chunks = _chunks(lines, chunk_size)
        for chunk in chunks:
            pending.append(pool.submit(check_lines, chunk, fmt))
            if len(pending) >= ahead:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _array_records(fh: BinaryIO, fmt: str) -> Iterator[Record]:
    """Stream the items of a top-level JSON array; `line` is the line each item starts on."""
    reader = _ArrayReader(io.TextIOWrapper(fh, encoding="utf-8-sig", errors="strict", newline=""), fmt)
    try:
        yield from reader.items()
    except UnicodeDecodeError as exc:
        yield Record(reader.line, b"", error=f"not valid UTF-8 ({exc.reason}); rest of the file skipped")


class _ArrayReader:
    """A small incremental reader of `[item, item, …]` over a text stream."""

    def __init__(self, text: io.TextIOBase, fmt: str):
        self.text, self.fmt = text, fmt
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
        try:
            _reject_non_finite(obj)  # the array's decoder accepts NaN, JSON does not
        except LogError as exc:
            record = Record(self.line, raw.encode("utf-8"), error=str(exc), is_object=isinstance(obj, dict))
        else:
            record = _validated(self.line, raw.encode("utf-8"), obj, self.fmt)
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


def _validated(line: int, raw: bytes, obj: object, fmt: str) -> Record:
    is_object = isinstance(obj, dict)
    try:
        log = row_to_log(obj, line) if fmt == "taskbench" else obj
        return Record(line, raw, log=validate_log(log), is_object=is_object)
    except LogError as exc:
        hint = (" (this looks like a TaskBench row: import it with format taskbench)"
                if fmt == "log" and is_object and "task_nodes" in obj else "")
        return Record(line, raw, error=f"{exc}{hint}", is_object=is_object)


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


def read_records(path: str | os.PathLike, parallel: bool | None = False, fmt: str = "log",
                 name: str | None = None) -> Iterator[Record]:
    """Every non-blank line (or array item) of a log file, validated. Raises UnreadableFileError, and
    NotALogFileError before the first record when the file is not a log file at all (`_sniffed`).

    `fmt`: what each line is (FORMATS). `name`: the file as messages call it (default: the path).
    With `parallel`, JSON Lines are checked in helper processes (worth it for large files); None
    decides by the file's size. Helper processes are spawned, which re-imports the caller's main
    script: only scripts guarded by `if __name__ == "__main__"` (the CLI, the benchmarks) may ask
    for them — never a Streamlit page.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown import format {fmt!r} (expected one of {', '.join(FORMATS)})")
    path = Path(path)
    name = name or str(path)
    fh = _open_binary(path, name)
    if parallel is None:
        parallel = os.fstat(fh.fileno()).st_size >= PARALLEL_MIN_BYTES
    try:
        if _is_array(fh):
            records = _array_records(fh, fmt)
        elif parallel:
            records = _parallel_records(_jsonl_lines(fh), fmt)
        else:
            records = (check_line(line_no, raw, fmt) for line_no, raw in _jsonl_lines(fh))
        yield from _sniffed(records, name, fmt)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:  # zlib: a damaged compressed stream
        if isinstance(exc, UnreadableFileError):
            raise
        raise UnreadableFileError(f"{name}: cannot read ({exc})") from None
    finally:
        fh.close()


def _sniffed(records: Iterator[Record], name: str, fmt: str) -> Iterator[Record]:
    """`records`, once one of the first SNIFF_LINES is a JSON object; otherwise NotALogFileError, so that a
    binary, empty or non-JSON file gets one reason instead of a reject for each of its lines."""
    head: list[Record] = []
    for record in records:
        head.append(record)
        if record.is_object or record.error is None:
            break
        if len(head) >= SNIFF_LINES:
            raise NotALogFileError(_not_a_log_file(name, fmt, head))
    else:
        if not head:
            raise NotALogFileError(f"{name}: empty: no logs in it")
        if not any(r.is_object or r.error is None for r in head):
            raise NotALogFileError(_not_a_log_file(name, fmt, head))
    yield from head
    yield from records


def _not_a_log_file(name: str, fmt: str, head: list[Record]) -> str:
    expected = "one TaskBench row" if fmt == "taskbench" else "one log"
    first = head[0]
    if any(b"\x00" in r.raw or (r.error or "").startswith("not valid UTF-8") for r in head):
        what = "it holds binary data, not text"
    elif len(head) == 1:
        what = "its only line is not a JSON object"
    else:
        what = f"none of its first {len(head)} lines is a JSON object"
    return (f"{name}: not a log file: {what} (line {first.line}: {first.error}); "
            f"expected JSON Lines, {expected} per line")


def _batches(path: Path, batch_size: int, parallel: bool | None, fmt: str, name: str) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in read_records(path, parallel=parallel, fmt=fmt, name=name):
        batch.append(record)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_file(store, path: str | os.PathLike, source_name: str | None = None,
                batch_size: int = 1000, parallel: bool | None = False, fmt: str = "log") -> ImportReport:
    """Import a log file (or, with fmt="taskbench", a file of TaskBench rows) into the store; each batch
    of valid logs is written in one transaction.

    Rejected lines are stored verbatim with their reason. Raises UnreadableFileError when the file
    cannot be read at all, NotALogFileError when it is not a log file (nothing is written); the import
    batch is then recorded as failed. `parallel`: see read_records.
    """
    path = Path(path)
    report = ImportReport()
    report.batch_id = store.imports.start(source_name or path.name)
    status = "failed"
    try:
        for batch in _batches(path, batch_size, parallel, fmt, source_name or str(path)):
            entries = [r.prepared or prepare_log(r.log) for r in batch if r.error is None]
            rejects = [(r.line, r.error, r.raw) for r in batch if r.error is not None]
            report.read += len(batch)
            if entries:
                counts = store.logs.add_prepared(entries, report.batch_id)
                report.imported += counts.imported
                report.updated += counts.updated
                report.unchanged += counts.unchanged
            if rejects:
                store.imports.add_rejects(report.batch_id, rejects)
                report.rejected += len(rejects)
                report.rejects += [{"line": line, "error": f"line {line}: {error}"} for line, error, _ in rejects]
        status = "completed"
    finally:
        store.imports.finish(report.batch_id, status, report.read, report.imported, report.updated,
                             report.unchanged, report.rejected)
    return report


def import_tools(store, path: str | os.PathLike, name: str | None = None) -> ToolCounts:
    """Keep the tool descriptions of a TaskBench `tool_desc.json` in the store, all or none; the same
    file again changes nothing. Raises UnreadableFileError naming the file and, for a bad entry, where."""
    path = Path(path)
    name = name or str(path)
    try:
        obj = parse_json(path.read_bytes().removeprefix(BOM))
    except OSError as exc:
        raise UnreadableFileError(f"{name}: cannot open ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(f"{name}: not a tool description file: invalid JSON ({exc.msg})") from None
    try:
        tools = tool_descriptions(obj)
    except LogError as exc:
        raise UnreadableFileError(f"{name}: not a tool description file: {exc}") from None
    return store.imports.upsert_tools(tools, source=Path(name).name)
