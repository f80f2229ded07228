"""Logs with their append-only revisions and review state: writing, reading, filtering, facets, pagination.

A log's content lives in `revisions` (one row per revision, never overwritten); `logs` holds the query
columns of the current revision, `log_workers` its workers and `logs_fts` its words.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from orchestai_core.schema import canonical_json, log_totals, validate_log
from orchestai_core.store.database import Database, StoreError, now_iso

REVIEW_STATUSES = ("pending", "accepted", "rejected", "needs_fix")
SORT_COLUMNS = (
    "id", "instruction", "template", "source", "created_at", "success", "total_cost_usd",
    "total_latency_ms", "n_subtasks", "review_status", "updated_at",
)
IMPORT_AUTHOR = "import"


class StaleRevisionError(StoreError):
    """Someone saved a newer revision since the editor loaded the log."""


def content_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def fts_query(text: str) -> str | None:
    """Turn what a user typed into a literal FTS5 query: each word quoted, all required.

    Operators, quotes, parentheses and `*` lose their meaning; None when no word is left.
    """
    words = re.findall(r"\w+", text)
    return " ".join(f'"{w}"' for w in words) if words else None


@dataclass
class LogFilter:
    """Filters of the log list; None means no filter on that field."""

    review_status: str | None = None
    not_review_status: str | None = None  # every status but this one ("all but rejected")
    template: str | None = None
    worker: str | None = None
    success: bool | None = None
    source: str | None = None
    min_cost: float | None = None
    max_cost: float | None = None
    min_latency: float | None = None
    max_latency: float | None = None
    min_subtasks: int | None = None
    max_subtasks: int | None = None
    created_from: str | None = None
    created_to: str | None = None
    search: str | None = None
    ids: list[str] | None = field(default=None)

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition over `logs` and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("review_status", self.review_status), ("template", self.template),
                              ("source", self.source)):
            if value is not None:
                clauses.append(f"logs.{column} = ?")
                params.append(value)
        if self.not_review_status is not None:
            clauses.append("logs.review_status != ?")
            params.append(self.not_review_status)
        if self.success is not None:
            clauses.append("logs.success = ?")
            params.append(int(self.success))
        for column, low, high in (("total_cost_usd", self.min_cost, self.max_cost),
                                  ("total_latency_ms", self.min_latency, self.max_latency),
                                  ("n_subtasks", self.min_subtasks, self.max_subtasks),
                                  ("created_at", self.created_from, self.created_to)):
            if low is not None:
                clauses.append(f"logs.{column} >= ?")
                params.append(low)
            if high is not None:
                clauses.append(f"logs.{column} <= ?")
                params.append(high)
        if self.worker is not None:
            clauses.append("logs.id IN (SELECT log_id FROM log_workers WHERE worker = ?)")
            params.append(self.worker)
        if self.search:
            query = fts_query(self.search)
            if query is None:
                clauses.append("0")
            else:
                clauses.append("logs.rowid IN (SELECT rowid FROM logs_fts WHERE logs_fts MATCH ?)")
                params.append(query)
        if self.ids is not None:
            clauses.append(f"logs.id IN ({','.join('?' * len(self.ids))})" if self.ids else "0")
            params.extend(self.ids)
        return (" AND ".join(clauses) or "1"), params


@dataclass
class Page:
    """One page of the log list and the keyset cursor of the next page (None at the end)."""

    rows: list[dict]
    next_cursor: tuple | None


@dataclass
class ImportCounts:
    """What one call of `LogStore.add` did with its logs."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0


class LogStore:
    """`store.logs`: every log, its revisions and its review history."""

    def __init__(self, db: Database):
        self.db = db

    def _write_current(self, entry: PreparedLog, revision: int, at: str) -> None:
        """Rewrite the query columns, worker rows and full-text row of an existing log's new revision."""
        conn = self.db.conn
        row = conn.execute(
            f"UPDATE logs SET revision = ?, {', '.join(f'{c} = ?' for c in _LOG_COLUMNS)}, updated_at = ?"
            " WHERE id = ? RETURNING rowid", (revision, *entry.values, at, entry.id)).fetchone()
        if row is None:
            self._insert_new([(self._next_rowid(), entry, revision)], at)
            return
        conn.execute("DELETE FROM log_workers WHERE log_id = ?", (entry.id,))
        conn.execute("DELETE FROM logs_fts WHERE rowid = ?", (row[0],))
        conn.executemany(_INSERT_WORKERS, [(entry.id, w, n) for w, n in entry.workers])
        conn.execute("INSERT INTO logs_fts (rowid, instruction, descriptions) VALUES (?, ?, ?)", (row[0], *entry.fts))

    def _next_rowid(self) -> int:
        return self.db.conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM logs").fetchone()[0]

    def _insert_new(self, entries: list[tuple[int, PreparedLog, int]], at: str) -> None:
        """Insert logs that are not in the store yet: (rowid, entry, revision) each, in a few statements."""
        conn = self.db.conn
        conn.executemany(
            f"INSERT INTO logs (rowid, id, revision, {', '.join(_LOG_COLUMNS)}, imported_at, updated_at)"
            f" VALUES (?, ?, ?, {', '.join('?' * len(_LOG_COLUMNS))}, ?, ?)",
            [(rowid, e.id, revision, *e.values, at, at) for rowid, e, revision in entries])
        conn.executemany(_INSERT_WORKERS, [(e.id, w, n) for _, e, _ in entries for w, n in e.workers])
        conn.executemany("INSERT INTO logs_fts (rowid, instruction, descriptions) VALUES (?, ?, ?)",
                         [(rowid, *e.fts) for rowid, e, _ in entries])

    def _add_revisions(self, rows: list[tuple]) -> None:
        """rows: (log_id, revision, content, content_hash, author, note, created_at, batch_id)."""
        self.db.conn.executemany(
            "INSERT INTO revisions (log_id, revision, content, content_hash, author, note, created_at, batch_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _known_hashes(self, ids: list[str]) -> dict[str, tuple[int, set[str]]]:
        """For ids already stored: (current revision, hashes of all their revisions)."""
        known: dict[str, tuple[int, set[str]]] = {}
        for chunk in range(0, len(ids), 900):
            part = ids[chunk:chunk + 900]
            for r in self.db.conn.execute(
                "SELECT l.id, l.revision, r.content_hash FROM logs l JOIN revisions r ON r.log_id = l.id"
                f" WHERE l.id IN ({','.join('?' * len(part))})", part,
            ):
                known.setdefault(r[0], (r[1], set()))[1].add(r[2])
        return known

    def add(self, logs: Iterable[dict], batch_id: int | None = None) -> ImportCounts:
        """Add valid logs in one transaction (see `add_prepared`)."""
        return self.add_prepared([prepare_log(log) for log in logs], batch_id)

    def add_prepared(self, entries: list[PreparedLog], batch_id: int | None = None) -> ImportCounts:
        """Add prepared logs in one transaction: new ids are inserted, content seen before is skipped,
        changed content becomes a new revision (and the review goes back to pending)."""
        counts = ImportCounts()
        at = now_iso()
        with self.db.transaction():
            known = self._known_hashes([e.id for e in entries])
            pending: list[tuple[int, PreparedLog, int]] = []
            pending_ids: set[str] = set()
            revisions: list[tuple] = []
            next_rowid = self._next_rowid()

            def flush() -> None:
                self._insert_new(pending, at)
                self._add_revisions(revisions)
                pending.clear(), pending_ids.clear(), revisions.clear()

            for e in entries:
                if e.id not in known:
                    pending.append((next_rowid, e, 1))
                    pending_ids.add(e.id)
                    next_rowid += 1
                    revisions.append((e.id, 1, e.canonical, e.digest, IMPORT_AUTHOR, None, at, batch_id))
                    known[e.id] = (1, {e.digest})
                    counts.imported += 1
                    continue
                revision, hashes = known[e.id]
                if e.digest in hashes:
                    counts.unchanged += 1
                    continue
                if e.id in pending_ids:  # the same id twice in one batch: write the first one now
                    flush()
                    next_rowid = self._next_rowid()
                revision += 1
                self._write_current(e, revision, at)
                self._add_revisions([(e.id, revision, e.canonical, e.digest, IMPORT_AUTHOR,
                                      "content changed by import", at, batch_id)])
                self._set_review(e.id, "pending", IMPORT_AUTHOR, "content changed by import", revision, at)
                hashes.add(e.digest)
                known[e.id] = (revision, hashes)
                counts.updated += 1
            flush()
        return counts

    def save_revision(self, log: dict, author: str, note: str | None = None,
                      base_revision: int | None = None) -> int:
        """Save an edited log as a new revision; refuse if `base_revision` is no longer current."""
        author = (author or "").strip()
        if not author:
            raise StoreError("an annotator name is required to save a change")
        validate_log(log)
        entry = prepare_log(log)
        with self.db.transaction():
            row = self.db.conn.execute("SELECT revision FROM logs WHERE id = ?", (log["id"],)).fetchone()
            if row is None:
                revision = 1
            else:
                if base_revision is not None and row[0] != base_revision:
                    raise StaleRevisionError(
                        f"log {log['id']!r} changed since you opened it (you edited revision {base_revision},"
                        f" the latest is {row[0]})"
                    )
                revision = row[0] + 1
            at = now_iso()
            self._write_current(entry, revision, at)
            self._add_revisions([(entry.id, revision, entry.canonical, entry.digest, author, note, at, None)])
        return revision

    def restore_revision(self, log_id: str, revision: int, author: str, base_revision: int | None = None) -> int:
        """Make an earlier revision current again, as a new revision."""
        log = self.get(log_id, revision)
        return self.save_revision(log, author, note=f"restored revision {revision}", base_revision=base_revision)

    def _set_review(self, log_id: str, status: str, annotator: str, note: str | None, revision: int | None,
                    at: str) -> None:
        self.db.conn.execute(
            "UPDATE logs SET review_status = ?, reviewer = ?, review_note = ?, reviewed_at = ? WHERE id = ?",
            (status, annotator, note, at, log_id),
        )
        self.db.conn.execute(
            "INSERT INTO review_events (log_id, status, annotator, note, revision, at) VALUES (?, ?, ?, ?, ?, ?)",
            (log_id, status, annotator, note, revision, at),
        )

    def set_review(self, log_ids: Iterable[str], status: str, annotator: str, note: str | None = None) -> int:
        """Set the review status of logs; return how many were changed."""
        if status not in REVIEW_STATUSES:
            raise StoreError(f"unknown review status {status!r} (expected one of {', '.join(REVIEW_STATUSES)})")
        annotator = (annotator or "").strip()
        if not annotator:
            raise StoreError("an annotator name is required to change a review status")
        changed = 0
        at = now_iso()
        with self.db.transaction():
            for log_id in log_ids:
                row = self.db.conn.execute("SELECT revision FROM logs WHERE id = ?", (log_id,)).fetchone()
                if row is None:
                    raise StoreError(f"unknown log id {log_id!r}")
                self._set_review(log_id, status, annotator, note, row[0], at)
                changed += 1
        return changed

    def review_history(self, log_id: str) -> list[dict]:
        return self.db.rows("SELECT * FROM review_events WHERE log_id = ? ORDER BY id", (log_id,))

    def count(self, flt: LogFilter | None = None) -> int:
        where, params = (flt or LogFilter()).where()
        return self.db.conn.execute(f"SELECT count(*) FROM logs WHERE {where}", params).fetchone()[0]

    def get(self, log_id: str, revision: int | None = None) -> dict:
        """The log as stored (latest revision unless one is named). Raises StoreError if unknown."""
        if revision is None:
            row = self.db.conn.execute(
                "SELECT r.content FROM logs l JOIN revisions r ON r.log_id = l.id AND r.revision = l.revision"
                " WHERE l.id = ?", (log_id,)).fetchone()
        else:
            row = self.db.conn.execute("SELECT content FROM revisions WHERE log_id = ? AND revision = ?",
                                    (log_id, revision)).fetchone()
        if row is None:
            what = f"log {log_id!r}" + (f" revision {revision}" if revision is not None else "")
            raise StoreError(f"unknown {what}")
        return json.loads(row[0])

    def row(self, log_id: str) -> dict:
        row = self.db.conn.execute("SELECT * FROM logs WHERE id = ?", (log_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown log {log_id!r}")
        return dict(row)

    def revisions(self, log_id: str) -> list[dict]:
        return self.db.rows(
            "SELECT revision, author, note, created_at, batch_id, content FROM revisions WHERE log_id = ?"
            " ORDER BY revision", (log_id,))

    def iterate(self, status: str | None = None, flt: LogFilter | None = None,
                batch: int = 500) -> Iterator[dict]:
        """Latest revision of every log (optionally by review status or filter), in rowid order."""
        flt = flt or LogFilter()
        if status is not None:
            flt = LogFilter(**{**flt.__dict__, "review_status": status})
        where, params = flt.where()
        last = 0
        while True:
            rows = self.db.conn.execute(
                "SELECT logs.rowid, r.content FROM logs JOIN revisions r ON r.log_id = logs.id"
                f" AND r.revision = logs.revision WHERE logs.rowid > ? AND {where} ORDER BY logs.rowid LIMIT ?",
                (last, *params, batch)).fetchall()
            if not rows:
                return
            for row in rows:
                yield json.loads(row[1])
            last = rows[-1][0]

    def query(self, flt: LogFilter | None = None, sort: str = "rowid", descending: bool = False,
              after: tuple | None = None, limit: int = 50) -> Page:
        """One page of log rows sorted by a column, with keyset pagination (`after` = the cursor
        returned with the previous page). NULLs sort first ascending, last descending."""
        if sort != "rowid" and sort not in SORT_COLUMNS:
            raise StoreError(f"cannot sort by {sort!r} (expected one of {', '.join(SORT_COLUMNS)})")
        where, params = (flt or LogFilter()).where()
        direction = "DESC" if descending else "ASC"
        if after is not None:
            condition, extra = _after(sort, descending, after)
            where, params = f"{where} AND {condition}", [*params, *extra]
        order = f"logs.rowid {direction}" if sort == "rowid" else f"logs.{sort} {direction}, logs.rowid {direction}"
        rows = self.db.rows(f"SELECT logs.rowid AS _rowid, logs.* FROM logs WHERE {where} ORDER BY {order} LIMIT ?",
                          [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = None
        if more and rows:
            cursor = (rows[-1][sort] if sort != "rowid" else None, rows[-1]["_rowid"])
        for r in rows:
            del r["_rowid"]
        return Page(rows, cursor)

    def facet(self, column: str, flt: LogFilter | None = None, limit: int | None = 50) -> list[tuple[Any, int]]:
        """Counts per value of a column (or `worker`) among the logs matching the filter, the most
        frequent first; the `limit` most frequent, or every value when it is None."""
        where, params = (flt or LogFilter()).where()
        if column == "worker":
            sql = (f"SELECT w.worker, count(*) AS n FROM log_workers w JOIN logs ON logs.id = w.log_id"
                   f" WHERE {where} GROUP BY w.worker ORDER BY n DESC LIMIT ?")
        elif column in SORT_COLUMNS:
            sql = f"SELECT logs.{column}, count(*) AS n FROM logs WHERE {where} GROUP BY 1 ORDER BY n DESC LIMIT ?"
        else:
            raise StoreError(f"no facet for {column!r}")
        return [(r[0], r[1]) for r in self.db.conn.execute(sql, [*params, -1 if limit is None else limit])]

    def summary(self) -> dict:
        """Headline figures of the whole dataset."""
        row = self.db.conn.execute(
            "SELECT count(*), count(DISTINCT template), avg(success), avg(n_subtasks),"
            " sum(total_cost_usd) FROM logs").fetchone()
        workers = self.db.conn.execute(
            "SELECT count(DISTINCT worker) FROM log_workers").fetchone()[0]
        by_status = dict(self.db.conn.execute("SELECT review_status, count(*) FROM logs GROUP BY 1").fetchall())
        return {
            "logs": row[0], "templates": row[1], "workers": workers, "success_rate": row[2],
            "mean_subtasks": row[3], "total_cost_usd": row[4] or 0.0,
            "review": {s: by_status.get(s, 0) for s in REVIEW_STATUSES},
        }

    def column_values(self, column: str) -> list[float]:
        """All non-null values of a numeric log column (for distributions)."""
        if column not in ("total_cost_usd", "total_latency_ms", "n_subtasks"):
            raise StoreError(f"no distribution for {column!r}")
        return [r[0] for r in self.db.conn.execute(f"SELECT {column} FROM logs WHERE {column} IS NOT NULL")]

    def cursor(self, log_id: str, sort: str = "rowid") -> tuple:
        """The keyset cursor of one log in a sort order, as `query` returns it (for next/previous)."""
        if sort != "rowid" and sort not in SORT_COLUMNS:
            raise StoreError(f"cannot sort by {sort!r} (expected one of {', '.join(SORT_COLUMNS)})")
        column = "NULL" if sort == "rowid" else f"logs.{sort}"
        row = self.db.conn.execute(f"SELECT {column}, logs.rowid FROM logs WHERE logs.id = ?", (log_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown log {log_id!r}")
        return (row[0], row[1])

    def ids(self, flt: LogFilter | None = None) -> list[str]:
        """Ids of every log matching the filter, in rowid order (for bulk review)."""
        where, params = (flt or LogFilter()).where()
        return [r[0] for r in self.db.conn.execute(f"SELECT logs.id FROM logs WHERE {where} ORDER BY logs.rowid",
                                                params)]

    def rowids(self, flt: LogFilter | None = None) -> list[int]:
        """Rowids of every log matching the filter, ascending."""
        where, params = (flt or LogFilter()).where()
        return [r[0] for r in self.db.conn.execute(f"SELECT logs.rowid FROM logs WHERE {where} ORDER BY logs.rowid",
                                                params)]

    def worker_rows(self) -> list[tuple[int, str]]:
        """(log rowid, worker) for each worker of each log's current revision."""
        return [(r[0], r[1]) for r in self.db.conn.execute(
            "SELECT logs.rowid, w.worker FROM log_workers w JOIN logs ON logs.id = w.log_id")]

    def content_mark(self) -> int:
        """A number that changes whenever a log is added or gets a new revision (not on reviews)."""
        return self.db.conn.execute("SELECT coalesce(max(rowid), 0) FROM revisions").fetchone()[0]

    def review_mark(self) -> int:
        """A number that changes whenever a review status is set."""
        return self.db.conn.execute("SELECT coalesce(max(id), 0) FROM review_events").fetchone()[0]



_LOG_COLUMNS = ("instruction", "template", "source", "created_at", "success", "total_cost_usd",
                "total_latency_ms", "n_subtasks")
_INSERT_WORKERS = "INSERT INTO log_workers (log_id, worker, n) VALUES (?, ?, ?)"


class PreparedLog(NamedTuple):
    """A valid log turned into what the store writes; made where the log is parsed (maybe in another
    process), so the writer only runs SQL."""

    id: str
    canonical: str
    digest: str
    values: tuple       # the _LOG_COLUMNS
    workers: tuple      # (worker, number of subtasks it runs)
    fts: tuple          # (instruction, descriptions)


def prepare_log(log: dict) -> PreparedLog:
    canonical = canonical_json(log)
    cost, latency = log_totals(log)
    success = log.get("success")
    subtasks = log["subtasks"]
    workers = Counter(t.get("worker") for t in subtasks)
    workers.pop(None, None)
    return PreparedLog(
        log["id"], canonical, content_hash(canonical),
        (log["instruction"], log.get("template"), log.get("source"), log.get("created_at"),
         None if success is None else int(success), cost, latency, len(subtasks)),
        tuple(workers.items()),
        (log["instruction"], "\n".join(t.get("description") or "" for t in subtasks)),
    )


def _after(sort: str, descending: bool, cursor: tuple) -> tuple[str, list[Any]]:
    """Keyset condition for rows after `cursor` = (value of the sort column, rowid)."""
    value, rowid = cursor
    if sort == "rowid":
        return ("logs.rowid < ?" if descending else "logs.rowid > ?"), [rowid]
    col = f"logs.{sort}"
    if value is None:
        if descending:  # NULLs come last: only later NULL rows remain
            return f"({col} IS NULL AND logs.rowid < ?)", [rowid]
        return f"(({col} IS NULL AND logs.rowid > ?) OR {col} IS NOT NULL)", [rowid]
    if descending:
        return f"({col} < ? OR ({col} = ? AND logs.rowid < ?) OR {col} IS NULL)", [value, value, rowid]
    return f"({col} > ? OR ({col} = ? AND logs.rowid > ?))", [value, value, rowid]
