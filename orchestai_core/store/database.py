"""The one database connection the parts of the store share: one per thread, explicit transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils


class StoreError(ValueError):
    """A request the store refuses (unknown log, bad status, stale revision…); message says why."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Database:
    """One database file; safe to share between threads (one connection per thread)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: indexes of 100k+ logs stay in memory
            conn.execute("PRAGMA wal_autocheckpoint = 16384")  # checkpoint every ~64 MiB, not every batch
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def transaction(self) -> Transaction:
        return Transaction(self.conn)

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        return [dict(r) for r in self.conn.execute(sql, tuple(params))]

    def describe(self) -> dict[str, dict]:
        """Every table of the file with its row count and columns (the full-text index's own shadow tables
        left out), read through sqlite-utils' introspection: read-only, on this connection, so it sees what
        the migrations made, never a second description of it."""
        db = sqlite_utils.Database(self.conn, recursive_triggers=False)
        indexes = set(db.table_names(fts4=True)) | set(db.table_names(fts5=True))
        return {table.name: {"rows": table.count, "columns": [column.name for column in table.columns]}
                for table in db.tables if not any(table.name.startswith(f"{index}_") for index in indexes)}


class Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception; nests by joining the outer one."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
