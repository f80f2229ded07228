"""The SQLite store, by concern: `store.logs`, `store.imports` and `store.runs` share one connection.

    logs.py        logs, their append-only revisions and review state; filters, facets, pages
    imports.py     import batches, the lines they rejected, TaskBench tool descriptions
    runs.py        training runs, the device each one claims, their metrics
    database.py    the connection (one per thread, WAL), transactions, StoreError
    migrations.py  the one schema history, applied when a `Store` opens

Every SQL statement of the project lives in this package. Writes run in explicit transactions
(BEGIN IMMEDIATE); the database is in WAL mode so the workbench can read while an import or a
training run writes. A new table is a migration appended to `migrations.py` plus the methods that
read and write it in the part it belongs to (or a new part, attached in `Store.__init__`).

sqlite-utils serves where it is strong, reading the file's shape: `Database.describe()` (tables, row
counts, columns; `orchestai stats` prints it). It does not write. The schema is written as SQL
migrations (CHECK constraints, WITHOUT ROWID, an FTS5 table with its tokenizer) that existing databases
already carry, so a second description of the tables in sqlite-utils calls could only drift from it;
imports write prepared tuples with `executemany` inside one caller-held transaction, where sqlite-utils'
inserts and upserts build a dict per row and open a transaction or savepoint of their own.
The file is plain SQLite: sqlite-utils' CLI or Datasette can open it from outside.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestai_core.store.database import Database, StoreError, now_iso
from orchestai_core.store.imports import ImportStore, ToolCounts
from orchestai_core.store.logs import (
    REVIEW_STATUSES,
    SORT_COLUMNS,
    ImportCounts,
    LogFilter,
    LogStore,
    Page,
    PreparedLog,
    StaleRevisionError,
    content_hash,
    fts_query,
    prepare_log,
)
from orchestai_core.store.migrations import migrate
from orchestai_core.store.runs import RUN_STATUSES, DeviceBusyError, RunStore

__all__ = [
    "REVIEW_STATUSES", "RUN_STATUSES", "SORT_COLUMNS", "DeviceBusyError", "ImportCounts", "ImportStore",
    "LogFilter", "LogStore", "Page", "PreparedLog", "RunStore", "StaleRevisionError", "Store", "StoreError",
    "ToolCounts", "content_hash", "fts_query", "now_iso", "prepare_log",
]


class Store(Database):
    """One database file and its parts: `logs`, `imports` and `runs`; safe to share between threads."""

    def __init__(self, path: str | os.PathLike):
        super().__init__(path)
        self.logs = LogStore(self)
        self.imports = ImportStore(self)
        self.runs = RunStore(self)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Store:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path)
        store.conn.execute("PRAGMA journal_mode = WAL")
        migrate(store.conn)
        return store
