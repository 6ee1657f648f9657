"""The `JobStore` protocol: durable screening state every replica shares, and how its records are encoded.

Two implementations: SQLite under CDP_STATE_DIR (processes on one machine), Redis when CDP_REDIS_URL is set
(replicas on several machines). Both keep, per job, the document, the audience rows by chunk, the result rows by
chunk and the control flags; uploaded audiences likewise. A job is run by whichever replica holds its lease (a
time-limited claim renewed while it works), and every write made while running is fenced by that lease: a
replica that stalled past its lease and was replaced cannot overwrite the new holder's progress.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from cdp_mcp.jobs.model import AudienceRecord, Control, Job, Member, ScreenedRow

__all__ = ["JOBS_FILE", "JobStore", "decode_members", "decode_rows", "encode_members", "encode_rows"]

JOBS_FILE = "screenings.sqlite3"
"""The SQLite store's file in CDP_STATE_DIR (0600: screening results are personal data)."""


def encode_members(members: Sequence[Member]) -> str:
    return json.dumps([m.compact() for m in members], separators=(",", ":"))


def decode_members(raw: str | bytes) -> list[Member]:
    return [Member.from_compact(item) for item in json.loads(raw)]


def encode_rows(rows: Sequence[ScreenedRow]) -> str:
    return json.dumps([r.model_dump(mode="json", exclude_none=True) for r in rows], separators=(",", ":"))


def decode_rows(raw: str | bytes) -> list[ScreenedRow]:
    return [ScreenedRow.model_validate(item) for item in json.loads(raw)]


class JobStore(Protocol):
    """Durable job state. Reads are lock-free; `write` and `commit` succeed only for the lease holder."""

    async def open(self) -> None:
        """Create what is missing (file, tables); called once before any other method."""

    async def create(self, job: Job, chunks: Sequence[Sequence[Member]]) -> None:
        """Store a new job and its audience rows; on return a `job()` on any replica finds it."""

    async def job(self, job_id: str) -> Job | None:
        """The job's document, or None (never created, or expired and deleted)."""

    async def control(self, job_id: str) -> Control:
        """The requests made of the job (cancel)."""

    async def request_cancel(self, job_id: str) -> None:
        """Ask whichever replica runs the job to cancel it (at its next chunk)."""

    async def acquire(self, job_id: str, holder: str, seconds: float) -> bool:
        """Take the job's lease for `seconds` unless another holder's lease is still running."""

    async def extend(self, job_id: str, holder: str, seconds: float) -> bool:
        """Extend the lease if `holder` still holds it; False when it was lost."""

    async def release(self, job_id: str, holder: str) -> None:
        """Give the lease back if `holder` holds it."""

    async def lease_holder(self, job_id: str) -> str | None:
        """Who holds the job's lease now (None: nobody)."""

    async def write(self, job: Job, holder: str) -> bool:
        """Save the document if `holder` holds the lease (an inactive job starts expiring at `expires_at`)."""

    async def commit(self, job: Job, chunk: int, rows: Sequence[ScreenedRow], holder: str) -> bool:
        """Save a chunk's result rows and the document (its checkpoint) together, if `holder` holds the lease."""

    async def active(self) -> list[str]:
        """Ids of the jobs some replica should be running (queued, running, paused)."""

    async def members(self, job_id: str, chunk: int) -> list[Member]:
        """The audience rows of one chunk."""

    async def results(self, job_id: str, chunk: int) -> list[ScreenedRow] | None:
        """The result rows of one chunk, None while it is not screened."""

    async def put_audience(self, record: AudienceRecord, chunks: Sequence[Sequence[Member]]) -> None:
        """Store an uploaded audience and its rows (they expire at `record.expires_at`)."""

    async def audience(self, audience_id: str) -> AudienceRecord | None:
        """An uploaded audience's record, or None."""

    async def audience_members(self, audience_id: str, chunk: int) -> list[Member]:
        """The rows of one chunk of an uploaded audience."""

    async def note_latency(self, ms_per_request: float) -> None:
        """Remember the pace the last screening kept (milliseconds per request and request slot), for the
        estimates of every replica."""

    async def latency(self) -> float | None:
        """The pace last noted (milliseconds per upstream request and request slot), if any."""

    async def sweep(self) -> int:
        """Delete what has expired (jobs, their rows, uploaded audiences); return how many records went."""

    async def aclose(self) -> None:
        """Release the connection."""

