"""Schema migrations of the SQLite store, applied in order; `PRAGMA user_version` records the last one.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: logs, revisions, subtasks of the current revision, review history, imports, full-text index.
    """
    CREATE TABLE logs (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        revision INTEGER NOT NULL,
        instruction TEXT NOT NULL,
        template TEXT,
        source TEXT,
        created_at TEXT,
        success INTEGER,
        total_cost_usd REAL,
        total_latency_ms REAL,
        n_subtasks INTEGER NOT NULL,
        review_status TEXT NOT NULL DEFAULT 'pending'
            CHECK (review_status IN ('pending', 'accepted', 'rejected', 'needs_fix')),
        reviewer TEXT,
        review_note TEXT,
        reviewed_at TEXT,
        imported_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX logs_review_status ON logs (review_status, rowid);
    CREATE INDEX logs_template ON logs (template, rowid);
    CREATE INDEX logs_source ON logs (source, rowid);
    CREATE INDEX logs_created_at ON logs (created_at, rowid);
    CREATE INDEX logs_success ON logs (success, rowid);
    CREATE INDEX logs_cost ON logs (total_cost_usd, rowid);
    CREATE INDEX logs_latency ON logs (total_latency_ms, rowid);
    CREATE INDEX logs_n_subtasks ON logs (n_subtasks, rowid);

    CREATE TABLE revisions (
        log_id TEXT NOT NULL REFERENCES logs (id),
        revision INTEGER NOT NULL,
        content TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        author TEXT NOT NULL,
        note TEXT,
        created_at TEXT NOT NULL,
        batch_id INTEGER,
        PRIMARY KEY (log_id, revision)
    );
    CREATE INDEX revisions_hash ON revisions (log_id, content_hash);

    -- The workers each log's current revision uses (n = how many of its subtasks), for the worker
    -- filter and facet (the subtasks themselves are in the revision's content).
    CREATE TABLE log_workers (
        log_id TEXT NOT NULL REFERENCES logs (id),
        worker TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (log_id, worker)
    ) WITHOUT ROWID;
    CREATE INDEX log_workers_worker ON log_workers (worker, log_id);

    CREATE TABLE review_events (
        id INTEGER PRIMARY KEY,
        log_id TEXT NOT NULL REFERENCES logs (id),
        status TEXT NOT NULL,
        annotator TEXT NOT NULL,
        note TEXT,
        revision INTEGER,
        at TEXT NOT NULL
    );
    CREATE INDEX review_events_log ON review_events (log_id, id);

    CREATE TABLE import_batches (
        id INTEGER PRIMARY KEY,
        source_name TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        read INTEGER NOT NULL DEFAULT 0,
        imported INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE rejects (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES import_batches (id),
        line INTEGER NOT NULL,
        error TEXT NOT NULL,
        raw BLOB NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX rejects_batch ON rejects (batch_id, line);

    CREATE VIRTUAL TABLE logs_fts USING fts5 (
        instruction, descriptions, tokenize = 'unicode61 remove_diacritics 2'
    );
    """,
    # 2: training runs and their metrics, followed live by the workbench.
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'phase1',
        status TEXT NOT NULL DEFAULT 'queued'
            CHECK (status IN ('queued', 'running', 'completed', 'failed', 'stopped', 'crashed')),
        config TEXT NOT NULL,
        command TEXT,
        pid INTEGER,
        device TEXT,
        data_size INTEGER,
        log_path TEXT,
        out_dir TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT,
        heartbeat_at TEXT,
        epoch INTEGER,
        total_epochs INTEGER,
        step INTEGER,
        total_steps INTEGER,
        best_val_loss REAL,
        best_epoch INTEGER,
        checkpoint TEXT,
        summary TEXT,
        error TEXT
    );
    CREATE TABLE metrics (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs (id),
        step INTEGER,
        epoch INTEGER,
        split TEXT NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL,
        wall_time REAL NOT NULL
    );
    CREATE INDEX metrics_run ON metrics (run_id, id);
    """,
    # 3: facet counts under a review-status filter (the annotators' usual view) without a table scan.
    """
    CREATE INDEX logs_status_template ON logs (review_status, template);
    CREATE INDEX logs_status_source ON logs (review_status, source);
    CREATE INDEX logs_status_success ON logs (review_status, success);
    """,
    # 4: what a run had to cut from its data (instructions or workflows too long for the model), as a JSON list.
    """
    ALTER TABLE runs ADD COLUMN warnings TEXT;
    """,
    # 5: tool descriptions imported with TaskBench data (tool_desc.json), for the model to use later;
    # `content` is the whole entry as canonical JSON (domains, parameters…).
    """
    CREATE TABLE tools (
        name TEXT PRIMARY KEY,
        description TEXT,
        content TEXT NOT NULL,
        source TEXT,
        updated_at TEXT NOT NULL
    );
    """,
]


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every pending migration, each in its own transaction; return the resulting version."""
    version = schema_version(conn)
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {version} is newer than this code knows ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
        statements = [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) >= number:  # another process migrated meanwhile
                conn.execute("ROLLBACK")
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return schema_version(conn)
