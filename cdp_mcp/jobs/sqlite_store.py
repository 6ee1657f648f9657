"""Screening state in one SQLite file under CDP_STATE_DIR: what every process on this machine shares.

One connection, owned by the store and used by one worker thread at a time (an `anyio` capacity limiter of one),
never from the event loop; it is closed with the store. Writes are `BEGIN IMMEDIATE` transactions, so processes
sharing the file take turns (WAL mode: readers never wait). The lease is two columns of the job's row, taken and
checked in the same statement that writes. The file is created 0600: it holds personal data until it expires.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from cdp_mcp.jobs.model import AudienceRecord, Control, Job, JobState, Member, ScreenedRow
from cdp_mcp.jobs.store import decode_members, decode_rows, encode_members, encode_rows
from cdp_mcp.sqlite_transaction import immediate_transaction

__all__ = ["SqliteJobStore"]

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, doc TEXT NOT NULL,
    cancel INTEGER NOT NULL DEFAULT 0,
    holder TEXT, lease_until REAL NOT NULL DEFAULT 0, expires_at REAL
);
CREATE INDEX IF NOT EXISTS ix_jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS job_chunks (
    job_id TEXT NOT NULL, n INTEGER NOT NULL, members TEXT NOT NULL, rows TEXT, PRIMARY KEY (job_id, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audiences (id TEXT PRIMARY KEY, doc TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audience_chunks (
    audience_id TEXT NOT NULL, n INTEGER NOT NULL, members TEXT NOT NULL, PRIMARY KEY (audience_id, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_ACTIVE = tuple(s.value for s in JobState if s.active)
_LATENCY = "ms_per_request"


def _expiry(job: Job) -> float | None:
    return job.expires_at.timestamp() if job.expires_at is not None else None


class SqliteJobStore:
    """`JobStore` over one SQLite file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._one = anyio.CapacityLimiter(1)

    def __repr__(self) -> str:
        return f"SqliteJobStore({str(self.path)!r})"

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._conn
        if conn is None:
            raise RuntimeError("SqliteJobStore used before open() or after aclose()")
        return await anyio.to_thread.run_sync(work, conn, limiter=self._one)

    # -- lifecycle --------------------------------------------------------------------------------------------

    async def open(self) -> None:
        def opening() -> sqlite3.Connection:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            try:
                conn.execute("PRAGMA busy_timeout=10000")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
            except BaseException:
                conn.close()
                raise
            return conn

        self._conn = await anyio.to_thread.run_sync(opening, limiter=self._one)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(conn.close, limiter=self._one)

    # -- jobs ---------------------------------------------------------------------------------------------------

    async def create(self, job: Job, chunks: Sequence[Sequence[Member]]) -> None:
        rows = [(job.id, n, encode_members(chunk)) for n, chunk in enumerate(chunks)]

        def work(conn: sqlite3.Connection) -> None:
            with immediate_transaction(conn):
                conn.execute("INSERT INTO jobs (id, state, doc, expires_at) VALUES (?, ?, ?, ?)",
                             (job.id, job.state.value, job.model_dump_json(), _expiry(job)))
                conn.executemany("INSERT INTO job_chunks (job_id, n, members) VALUES (?, ?, ?)", rows)

        await self._run(work)

    async def job(self, job_id: str) -> Job | None:
        row = await self._run(lambda c: c.execute(
            "SELECT doc FROM jobs WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)",
            (job_id, time.time())).fetchone())
        return Job.model_validate_json(row[0]) if row else None

    async def control(self, job_id: str) -> Control:
        row = await self._run(lambda c: c.execute("SELECT cancel FROM jobs WHERE id = ?", (job_id,)).fetchone())
        return Control(cancel=bool(row[0])) if row else Control()

    async def request_cancel(self, job_id: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with immediate_transaction(conn):
                conn.execute("UPDATE jobs SET cancel = 1 WHERE id = ?", (job_id,))

        await self._run(work)

    async def acquire(self, job_id: str, holder: str, seconds: float) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            now = time.time()
            with immediate_transaction(conn):
                cursor = conn.execute(
                    "UPDATE jobs SET holder = ?, lease_until = ? "
                    "WHERE id = ? AND (holder IS NULL OR holder = ? OR lease_until <= ?)",
                    (holder, now + seconds, job_id, holder, now))
                return cursor.rowcount == 1

        return await self._run(work)

    async def extend(self, job_id: str, holder: str, seconds: float) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            with immediate_transaction(conn):
                cursor = conn.execute("UPDATE jobs SET lease_until = ? WHERE id = ? AND holder = ?",
                                      (time.time() + seconds, job_id, holder))
                return cursor.rowcount == 1

        return await self._run(work)

    async def release(self, job_id: str, holder: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with immediate_transaction(conn):
                conn.execute("UPDATE jobs SET holder = NULL, lease_until = 0 WHERE id = ? AND holder = ?",
                             (job_id, holder))

        with anyio.CancelScope(shield=True):  # a lease left behind blocks the job for a whole lease
            await self._run(work)

    async def lease_holder(self, job_id: str) -> str | None:
        row = await self._run(lambda c: c.execute("SELECT holder FROM jobs WHERE id = ? AND lease_until > ?",
                                                  (job_id, time.time())).fetchone())
        return row[0] if row else None

    @staticmethod
    def _fenced(conn: sqlite3.Connection, job: Job, holder: str) -> bool:
        cursor = conn.execute("UPDATE jobs SET state = ?, doc = ?, expires_at = ? WHERE id = ? AND holder = ?",
                              (job.state.value, job.model_dump_json(), _expiry(job), job.id, holder))
        return cursor.rowcount == 1

    async def write(self, job: Job, holder: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            with immediate_transaction(conn):
                return self._fenced(conn, job, holder)

        return await self._run(work)

    async def commit(self, job: Job, chunk: int, rows: Sequence[ScreenedRow], holder: str) -> bool:
        encoded = encode_rows(rows)

        def work(conn: sqlite3.Connection) -> bool:
            with immediate_transaction(conn):
                if not self._fenced(conn, job, holder):
                    return False
                conn.execute("UPDATE job_chunks SET rows = ? WHERE job_id = ? AND n = ?", (encoded, job.id, chunk))
                return True

        return await self._run(work)

    async def active(self) -> list[str]:
        marks = ",".join("?" * len(_ACTIVE))
        rows = await self._run(lambda c: c.execute(
            f"SELECT id FROM jobs WHERE state IN ({marks}) ORDER BY rowid", _ACTIVE).fetchall())  # noqa: S608
        return [r[0] for r in rows]

    async def members(self, job_id: str, chunk: int) -> list[Member]:
        row = await self._run(lambda c: c.execute("SELECT members FROM job_chunks WHERE job_id = ? AND n = ?",
                                                  (job_id, chunk)).fetchone())
        return decode_members(row[0]) if row else []

    async def results(self, job_id: str, chunk: int) -> list[ScreenedRow] | None:
        row = await self._run(lambda c: c.execute("SELECT rows FROM job_chunks WHERE job_id = ? AND n = ?",
                                                  (job_id, chunk)).fetchone())
        return decode_rows(row[0]) if row and row[0] is not None else None

    # -- uploaded audiences -------------------------------------------------------------------------------------

    async def put_audience(self, record: AudienceRecord, chunks: Sequence[Sequence[Member]]) -> None:
        rows = [(record.id, n, encode_members(chunk)) for n, chunk in enumerate(chunks)]

        def work(conn: sqlite3.Connection) -> None:
            with immediate_transaction(conn):
                conn.execute("INSERT INTO audiences VALUES (?, ?, ?)",
                             (record.id, record.model_dump_json(), record.expires_at.timestamp()))
                conn.executemany("INSERT INTO audience_chunks VALUES (?, ?, ?)", rows)

        await self._run(work)

    async def audience(self, audience_id: str) -> AudienceRecord | None:
        row = await self._run(lambda c: c.execute("SELECT doc FROM audiences WHERE id = ? AND expires_at > ?",
                                                  (audience_id, time.time())).fetchone())
        return AudienceRecord.model_validate_json(row[0]) if row else None

    async def audience_members(self, audience_id: str, chunk: int) -> list[Member]:
        row = await self._run(lambda c: c.execute(
            "SELECT members FROM audience_chunks WHERE audience_id = ? AND n = ?", (audience_id, chunk)).fetchone())
        return decode_members(row[0]) if row else []

    # -- housekeeping -------------------------------------------------------------------------------------------

    async def note_latency(self, ms_per_request: float) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with immediate_transaction(conn):
                conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_LATENCY, repr(ms_per_request)))

        await self._run(work)

    async def latency(self) -> float | None:
        row = await self._run(lambda c: c.execute("SELECT value FROM meta WHERE key = ?", (_LATENCY,)).fetchone())
        return float(row[0]) if row else None

    async def sweep(self) -> int:
        def work(conn: sqlite3.Connection) -> int:
            now = time.time()
            with immediate_transaction(conn):
                jobs = [r[0] for r in conn.execute("SELECT id FROM jobs WHERE expires_at <= ?", (now,))]
                audiences = [r[0] for r in conn.execute("SELECT id FROM audiences WHERE expires_at <= ?", (now,))]
                conn.executemany("DELETE FROM job_chunks WHERE job_id = ?", [(j,) for j in jobs])
                conn.executemany("DELETE FROM jobs WHERE id = ?", [(j,) for j in jobs])
                conn.executemany("DELETE FROM audience_chunks WHERE audience_id = ?", [(a,) for a in audiences])
                conn.executemany("DELETE FROM audiences WHERE id = ?", [(a,) for a in audiences])
            return len(jobs) + len(audiences)

        return await self._run(work)
