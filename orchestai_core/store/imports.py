"""Import batches, the lines they rejected (kept verbatim) and the TaskBench tool descriptions imported with them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from orchestai_core.schema import canonical_json
from orchestai_core.store.database import Database, now_iso


@dataclass
class ToolCounts:
    """What one call of `ImportStore.upsert_tools` did with its tool descriptions."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportStore:
    """`store.imports`: one row per import batch with its counts, its rejected lines, and tool descriptions."""

    def __init__(self, db: Database):
        self.db = db

    def start(self, source_name: str) -> int:
        """Record a new import batch from `source_name` (status running); return its id."""
        with self.db.transaction():
            return self.db.conn.execute("INSERT INTO import_batches (source_name, started_at) VALUES (?, ?)",
                                        (source_name, now_iso())).lastrowid

    def add_rejects(self, batch_id: int, rejects: Iterable[tuple[int, str, bytes]]) -> None:
        """Keep rejected lines verbatim: (line number, reason, raw bytes)."""
        at = now_iso()
        with self.db.transaction():
            self.db.conn.executemany(
                "INSERT INTO rejects (batch_id, line, error, raw, created_at) VALUES (?, ?, ?, ?, ?)",
                [(batch_id, line, error, sqlite3.Binary(raw), at) for line, error, raw in rejects])

    def finish(self, batch_id: int, status: str, read: int, imported: int, updated: int,
               unchanged: int, rejected: int) -> None:
        """Record how an import batch ended and what it counted."""
        with self.db.transaction():
            self.db.conn.execute(
                "UPDATE import_batches SET finished_at = ?, status = ?, read = ?, imported = ?, updated = ?,"
                " unchanged = ?, rejected = ? WHERE id = ?",
                (now_iso(), status, read, imported, updated, unchanged, rejected, batch_id))

    def batches(self) -> list[dict]:
        """Every import batch, the latest first."""
        return self.db.rows("SELECT * FROM import_batches ORDER BY id DESC")

    def rejects(self, batch_id: int | None = None) -> list[dict]:
        """Rejected lines (of one batch, by line number, or of all), raw bytes included."""
        if batch_id is None:
            return self.db.rows("SELECT * FROM rejects ORDER BY id")
        return self.db.rows("SELECT * FROM rejects WHERE batch_id = ? ORDER BY line", (batch_id,))

    def upsert_tools(self, tools: Iterable[dict], source: str | None = None) -> ToolCounts:
        """Keep tool descriptions ({"name", "description", "content"}) in one transaction: a new name is
        added, changed content replaces the old, the same content again changes nothing."""
        counts = ToolCounts()
        at = now_iso()
        with self.db.transaction():
            for tool in tools:
                content = canonical_json(tool["content"])
                row = self.db.conn.execute("SELECT content FROM tools WHERE name = ?", (tool["name"],)).fetchone()
                if row is not None and row[0] == content:
                    counts.unchanged += 1
                    continue
                self.db.conn.execute(
                    "INSERT INTO tools (name, description, content, source, updated_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET description = excluded.description,"
                    " content = excluded.content, source = excluded.source, updated_at = excluded.updated_at",
                    (tool["name"], tool.get("description"), content, source, at))
                if row is None:
                    counts.added += 1
                else:
                    counts.updated += 1
        return counts

    def tools(self) -> list[dict]:
        """Every kept tool description, by name; `content` decoded."""
        rows = self.db.rows("SELECT * FROM tools ORDER BY name")
        for row in rows:
            row["content"] = json.loads(row["content"])
        return rows

