"""Analysis jobs kept on disk: a SQLite table (status, progress, error) and a folder per job (the upload,
a browser preview, ``result.json``), so a restarted server loses nothing it accepted: jobs still queued
or running when it stopped are queued again when it starts."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ACTIVE = ("queued", "running")
_SCHEMA = """CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, filename TEXT NOT NULL, video TEXT NOT NULL, status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0, error TEXT, created REAL NOT NULL, finished REAL)"""


class JobStore:
    """Jobs in ``root/jobs.sqlite``, files in ``root/<id>/``; safe to use from several threads."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.root / "jobs.sqlite", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its (empty) folder, to write the upload into before :meth:`add`."""
        job_id = uuid.uuid4().hex[:12]
        folder = self.root / job_id
        folder.mkdir()
        return job_id, folder

    def add(self, job_id: str, filename: str, video: Path) -> dict:
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, filename, video, status, created) VALUES (?, ?, ?, 'queued', ?)",
                (job_id, filename, video.name, time.time()),
            )
        return self.get(job_id)

    def update(self, job_id: str, **fields) -> None:
        names = ", ".join(f"{name} = ?" for name in fields)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {names} WHERE id = ?", (*fields.values(), job_id))

    def get(self, job_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(row) if row else None

    def list(self, limit: int = 50) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def active(self) -> list[str]:
        """Ids of queued and running jobs, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM jobs WHERE status IN (?, ?) ORDER BY created", ACTIVE).fetchall()
        return [r["id"] for r in rows]

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def save_result(self, job_id: str, result: dict) -> None:
        path = self.folder(job_id) / "result.json"
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(result))
        partial.replace(path)

    def result(self, job_id: str) -> dict | None:
        path = self.folder(job_id) / "result.json"
        return json.loads(path.read_text()) if path.is_file() else None


class JobRunner:
    """Runs ``work(job_id, progress)`` for each submitted job on ``workers`` threads, recording status,
    progress and errors in the store; a failing job is marked failed with its reason, never raised."""

    def __init__(self, store: JobStore, work: Callable[[str, Callable[[float], None]], dict], workers: int = 1):
        self.store, self.work = store, work
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="job")

    def resume(self) -> list[str]:
        """Queue again every job the store holds as queued or running (a restart); their ids."""
        ids = self.store.active()
        for job_id in ids:
            self.store.update(job_id, status="queued", progress=0.0)
            self.submit(job_id)
        return ids

    def submit(self, job_id: str) -> None:
        self.pool.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        self.store.update(job_id, status="running")
        try:
            result = self.work(job_id, lambda p: self.store.update(job_id, progress=round(p, 3)))
            self.store.save_result(job_id, result)
            self.store.update(job_id, status="done", progress=1.0, finished=time.time())
        except Exception as exc:  # a bad video fails its job, not the server
            self.store.update(job_id, status="failed", error=f"{type(exc).__name__}: {exc}", finished=time.time())

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
