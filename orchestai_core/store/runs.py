"""Training runs, the device each one claims, and the metrics they report while they train."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from orchestai_core.store.database import Database, StoreError, now_iso

RUN_STATUSES = ("queued", "running", "completed", "failed", "stopped", "crashed")
RUN_FIELDS = {
    "status", "pid", "device", "data_size", "log_path", "out_dir", "started_at", "ended_at",
    "heartbeat_at", "epoch", "total_epochs", "step", "total_steps", "best_val_loss", "best_epoch",
    "checkpoint", "summary", "error", "command", "config", "warnings",
}


class DeviceBusyError(StoreError):
    """Another training run holds the device."""

    def __init__(self, device: str, run: dict):
        self.run = run
        super().__init__(f"device {device} is busy with run {run['id']} ({run['status']}, started "
                         f"{run.get('started_at') or run['created_at']}): stop it or wait until it ends")


class RunStore:
    """`store.runs`: training runs from queued to their end, with their metrics; JSON columns decoded."""

    def __init__(self, db: Database):
        self.db = db

    def create(self, config: dict, command: list[str] | None = None, data_size: int | None = None,
               log_path: str | None = None, out_dir: str | None = None, kind: str = "phase1") -> int:
        """Record a new training run in status `queued`; return its id."""
        with self.db.transaction():
            return self.db.conn.execute(
                "INSERT INTO runs (kind, config, command, data_size, log_path, out_dir, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, json.dumps(config), json.dumps(command) if command is not None else None,
                 data_size, log_path, out_dir, now_iso())).lastrowid

    def claim_device(self, device: str, same_device: Callable[[str | None], bool], run_id: int | None = None,
                     **new_run: Any) -> int:
        """Queue a run on `device` unless an active run holds it (DeviceBusyError), in one transaction.

        With `run_id`, that (ended) run is queued again (a resume); otherwise a run is created from
        `new_run` (the arguments of `create`). `same_device(name)` tells whether a recorded device
        name means the same device ("cuda" and "cuda:0" do)."""
        with self.db.transaction():
            for run in self.active():
                if run["id"] != run_id and same_device(run["device"]):
                    raise DeviceBusyError(device, run)
            if run_id is None:
                run_id = self.create(**new_run)
            elif not self._requeue(run_id):
                raise StoreError(f"run {run_id} does not exist or is still active")
            self.db.conn.execute("UPDATE runs SET device = ? WHERE id = ?", (device, run_id))
            return run_id

    def _requeue(self, run_id: int) -> bool:
        """Queue an ended run again; False if there is no such run or it is still active."""
        return self.db.conn.execute(
            "UPDATE runs SET status = 'queued', ended_at = NULL, error = NULL, pid = NULL"
            " WHERE id = ? AND status NOT IN ('queued', 'running')", (run_id,)).rowcount > 0

    def active(self) -> list[dict]:
        """Runs queued or running (according to the store: a dead process may still say running)."""
        return [_decode_run(r) for r in self.db.rows("SELECT * FROM runs WHERE status IN ('queued', 'running')"
                                                   " ORDER BY id")]

    def end_if_active(self, run_id: int, status: str, error: str | None = None) -> bool:
        """Set an end status only if the run still counts as queued or running; True if it did."""
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}")
        with self.db.transaction():
            return self.db.conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, error = coalesce(?, error)"
                " WHERE id = ? AND status IN ('queued', 'running')", (status, now_iso(), error, run_id)).rowcount > 0

    def update(self, run_id: int, **fields: Any) -> None:
        """Set fields of a run (names in RUN_FIELDS; JSON fields may be given decoded)."""
        unknown = set(fields) - RUN_FIELDS
        if unknown:
            raise StoreError(f"unknown run field(s): {', '.join(sorted(unknown))}")
        if "status" in fields and fields["status"] not in RUN_STATUSES:
            raise StoreError(f"unknown run status {fields['status']!r}")
        for name in ("summary", "config", "command", "warnings"):
            if name in fields and fields[name] is not None and not isinstance(fields[name], str):
                fields[name] = json.dumps(fields[name])
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.db.transaction():
            cur = self.db.conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*fields.values(), run_id))
            if cur.rowcount == 0:
                raise StoreError(f"unknown run {run_id}")

    def get(self, run_id: int) -> dict:
        """One run, JSON columns decoded; StoreError if unknown."""
        row = self.db.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown run {run_id}")
        return _decode_run(dict(row))

    def list(self) -> list[dict]:
        """Every run, the latest first."""
        return [_decode_run(r) for r in self.db.rows("SELECT * FROM runs ORDER BY id DESC")]

    def add_metrics(self, run_id: int, rows: Iterable[dict]) -> None:
        """Append metric rows ({split, name, value, wall_time, step?, epoch?}) of a run."""
        with self.db.transaction():
            self.db.conn.executemany(
                "INSERT INTO metrics (run_id, step, epoch, split, name, value, wall_time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, r.get("step"), r.get("epoch"), r["split"], r["name"], float(r["value"]),
                  float(r["wall_time"])) for r in rows])

    def metrics(self, run_id: int, after_id: int = 0) -> list[dict]:
        """A run's metric rows in the order written, only those after `after_id` (to follow a live run)."""
        return self.db.rows("SELECT * FROM metrics WHERE run_id = ? AND id > ? ORDER BY id", (run_id, after_id))

    def delete(self, run_id: int) -> None:
        """Delete a run and its metrics."""
        with self.db.transaction():
            self.db.conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            self.db.conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))



def _decode_run(row: dict) -> dict:
    for name in ("config", "command", "summary", "warnings"):
        if row.get(name):
            row[name] = json.loads(row[name])
    return row
