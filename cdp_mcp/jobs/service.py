"""Screenings: what the tools, the Tasks extension, the resources and `POST /audiences` ask of the job engine.

One object per server lifespan: it opens the store, runs the engine in the lifespan's task group, and answers
for the caller of the request at hand. A job or an uploaded audience belongs to the principal that made it;
anyone else is told it does not exist, exactly as for an id that never existed or has expired. A principal runs
at most CDP_SCREEN_MAX_JOBS screenings at once.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from cdp_mcp.errors import InvalidInputError, ScreeningLimitError, ScreeningNotFoundError, ScreeningStateError
from cdp_mcp.jobs import audience as parsing
from cdp_mcp.jobs.engine import LEASE_SECONDS, Engine, audit_line, chunk_count
from cdp_mcp.jobs.estimate import Estimate, estimate
from cdp_mcp.jobs.model import (
    CHUNK_ROWS,
    GROUPS,
    Audience,
    AudienceRecord,
    Checks,
    Job,
    JobState,
    Member,
    Only,
    Owner,
    ScreenedRow,
    new_id,
    now,
)
from cdp_mcp.jobs.pacing import Pacer
from cdp_mcp.jobs.sources import audience_path
from cdp_mcp.jobs.store import JOBS_FILE, JobStore

if TYPE_CHECKING:
    from cdp_mcp.access.audit import AuditTrail
    from cdp_mcp.access.caller import Caller
    from cdp_mcp.backend import Backend
    from cdp_mcp.jobs.rows import CheckCustomer
    from cdp_mcp.settings import Settings

__all__ = ["GROUPS", "PAGE_ROWS", "Intake", "Only", "Page", "Screenings", "owner_of"]

logger = logging.getLogger(__name__)

PAGE_ROWS = 50
_CURSOR_HINT = "Pass next_cursor exactly as get_screening gave it, or omit cursor for the first page."


def owner_of(caller: Caller) -> Owner:
    return Owner(principal=caller.principal, client_id=caller.client_id, transport=caller.transport,
                 scopes=sorted(caller.scopes) if caller.scopes is not None else None)


@dataclass(frozen=True, slots=True)
class Intake:
    """An audience ready to screen, and where it came from (for the audit trail and the result)."""

    audience: Audience
    source: str


@dataclass(frozen=True, slots=True)
class Page:
    """Rows of a screening's result (filtered by `only`), and where the next page starts."""

    rows: list[ScreenedRow]
    total: int
    next_cursor: str | None
    first: bool = True


def _cursor(job_id: str, position: int, returned: int, only: str | None) -> str:
    raw = json.dumps({"s": job_id, "p": position, "n": returned, "f": only}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _position(text: str, job_id: str, only: str | None) -> tuple[int, int]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        position, returned = int(payload["p"]), int(payload["n"])
        if payload["s"] != job_id:
            raise InvalidInputError("The cursor belongs to another screening.", hint=_CURSOR_HINT)
        if payload.get("f") != only:
            raise InvalidInputError(f"The cursor pages rows only={payload.get('f')}, not only={only}.",
                                    hint="Repeat the same only with the cursor, or omit cursor to start again.")
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise InvalidInputError("The cursor is not valid.", hint=_CURSOR_HINT) from None
    if position < 0 or returned < 0:
        raise InvalidInputError("The cursor is not valid.", hint=_CURSOR_HINT)
    return position, returned


def _store_for(settings: Settings) -> JobStore:
    """Redis when CDP_REDIS_URL is set (replicas on several machines), else SQLite in CDP_STATE_DIR."""
    state = settings.state
    if state.redis_url is not None:
        from cdp_mcp.jobs.redis_store import RedisJobStore  # noqa: PLC0415 - redis-py only when configured

        return RedisJobStore(state.redis_url, prefix=state.redis_key_prefix,
                             timeout=settings.requests.connect_timeout)
    from cdp_mcp.jobs.sqlite_store import SqliteJobStore  # noqa: PLC0415

    return SqliteJobStore(state.state_dir / JOBS_FILE)


class Screenings:
    """The screening service of one server lifespan (see the module docstring)."""

    def __init__(self, settings: Settings, audit: AuditTrail, check: CheckCustomer,
                 backend: Callable[[], Awaitable[Backend]], *, store: JobStore | None = None) -> None:
        self.settings = settings
        self.pacer = Pacer(settings.screening.screen_concurrency)
        self.engine = Engine(self.ready, settings, check, backend, audit, self.pacer)
        self.backend = backend
        self._audit = audit
        self._store = store
        self._opened = False
        self._opening = anyio.Lock()

    def __repr__(self) -> str:
        return f"Screenings({self._store!r}, {self.engine!r})"

    async def ready(self) -> JobStore:
        """The store, opened on first use (nothing is created on disk or in Redis before a screening needs it).

        Raises:
            ScreeningStateError: the store cannot be opened (the path or Redis named).
            ConfigurationError: CDP_REDIS_URL is set but redis-py is missing.
        """
        if not self._opened:
            async with self._opening:
                if not self._opened:
                    store = self._store if self._store is not None else _store_for(self.settings)
                    self._store = store
                    try:
                        await store.open()
                    except OSError as exc:
                        raise ScreeningStateError(f"{exc.strerror or type(exc).__name__}: {exc.filename}") from None
                    self._opened = True
        assert self._store is not None
        return self._store

    @property
    def store(self) -> JobStore:
        """The open store (`ready()` first)."""
        if self._store is None or not self._opened:
            raise RuntimeError("Screenings.store before ready()")
        return self._store

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Screenings]:
        """Run the engine until the block ends; close the store (if it was opened) after."""
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self.engine.run)
                try:
                    yield self
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            if self._opened and self._store is not None:
                self._opened = False
                await self._store.aclose()

    # -- audiences in ---------------------------------------------------------------------------------------------

    async def intake(self, caller: Caller, *, customers: list[Any] | None, audience_file: str | None,
                     audience_id: str | None) -> Intake:
        """The audience one source names (exactly one must be given).

        Raises:
            InvalidInputError: no source or several, a file outside CDP_AUDIENCE_DIR (or any file, with sign-in),
                an unreadable audience.
            ScreeningNotFoundError: an audience_id that is unknown, expired or someone else's.
        """
        given = [name for name, value in (("customers", customers), ("audience_file", audience_file),
                                          ("audience_id", audience_id)) if value]
        if len(given) != 1:
            raise InvalidInputError(f"Give exactly one audience source, not {' and '.join(given) or 'none'}.",
                                    hint="customers (inline rows), audience_file (a CSV or JSON-lines file in "
                                         "CDP_AUDIENCE_DIR), or audience_id (an uploaded audience).")
        limit = self.settings.screening.audience_max
        if customers:
            audience = await anyio.to_thread.run_sync(lambda: parsing.from_customers(customers, max_rows=limit))
            return Intake(audience, "customers")
        if audience_file:
            if self.settings.sign_in.enabled:  # many people: a folder on the server is no one person's
                raise InvalidInputError(
                    "audience_file reads the server's own audience folder, which is for one person using cdp-mcp on "
                    "their computer; on a team server an audience is uploaded, and is then yours alone.",
                    hint="Upload the export (POST /audiences, or `cdp-mcp audience upload FILE --url URL` from a "
                         "shell) and call screen_audience with the audience_id it answers.")
            folder, name = self.settings.screening.audience_dir, audience_file

            def read() -> Audience:
                return parsing.read_file(audience_path(folder, name), max_rows=limit)

            return Intake(await anyio.to_thread.run_sync(read), f"audience_file {name}")
        record = await (await self.ready()).audience(str(audience_id))
        if record is None or record.owner != caller.principal:
            raise ScreeningNotFoundError(f"No uploaded audience {audience_id!r} of yours was found (it may have "
                                         "expired).", hint="Upload it again (POST /audiences or `cdp-mcp audience "
                                                           "upload`) and use the audience_id it answers.")
        members: list[Member] = []
        for chunk in range(record.chunks):
            members.extend(await self.store.audience_members(record.id, chunk))
        return Intake(Audience(members=members, rejected=record.rejected, rejections=record.rejections,
                               duplicates=record.duplicates), f"audience_id {record.id}")

    async def upload(self, caller: Caller, data: bytes, name: str) -> AudienceRecord:
        """Store an uploaded audience for `caller` until CDP_SCREEN_TTL from now."""
        limit = self.settings.screening.audience_max
        audience = await anyio.to_thread.run_sync(lambda: parsing.parse_bytes(data, name=name, max_rows=limit))
        chunks = list(parsing.chunks(audience.members, CHUNK_ROWS))
        created = now()
        record = AudienceRecord(id=new_id("aud"), owner=caller.principal, rows=len(audience.members),
                                chunks=len(chunks), rejected=audience.rejected, rejections=audience.rejections,
                                duplicates=audience.duplicates, created_at=created,
                                expires_at=created + timedelta(seconds=self.settings.screening.screen_ttl))
        await (await self.ready()).put_audience(record, chunks)
        return record

    async def estimate(self, intake: Intake, checks: Checks, *, gcr_lookups: bool) -> Estimate:
        """What screening the audience would cost now (see `jobs.estimate`); `gcr_lookups`: whether the caller
        may look up the gcr_id of a row that lacks one."""
        return await estimate(await self.backend(), intake.audience.members, checks, gcr_lookups=gcr_lookups,
                              ms_per_request=await self._pace(), concurrency=self.pacer.concurrency)

    async def _pace(self) -> float | None:
        """Milliseconds per request to expect: the pace the last screening kept (any replica's; see
        `engine._Pace`), or the API's latency here when that is slower now; None before either was seen."""
        known = [ms for ms in (self.pacer.ms_per_request, await (await self.ready()).latency()) if ms is not None]
        return max(known, default=None)

    # -- jobs -----------------------------------------------------------------------------------------------------

    async def room_for(self, caller: Caller) -> None:
        """Whether `caller` may start another screening now (asked before a person confirms one, and at its start).

        Raises:
            ScreeningLimitError: the caller already runs CDP_SCREEN_MAX_JOBS screenings.
        """
        store = await self.ready()
        mine = [job for job_id in await store.active()
                if (job := await store.job(job_id)) is not None and job.owner.principal == caller.principal]
        if len(mine) >= self.settings.screening.screen_max_jobs:
            raise ScreeningLimitError(
                f"You already run {len(mine)} screenings ({', '.join(j.id for j in mine)}); at most "
                f"{self.settings.screening.screen_max_jobs} run at once (CDP_SCREEN_MAX_JOBS).",
                hint="Wait for one to finish (get_screening) or cancel one (cancel_screening), then start again.")

    async def start(self, caller: Caller, intake: Intake, checks: Checks) -> Job:
        """Create the job (durably: on return any replica finds it) and wake the engine.

        Raises:
            ScreeningLimitError: the caller already runs CDP_SCREEN_MAX_JOBS screenings.
        """
        await self.room_for(caller)
        members = intake.audience.members
        chunks = list(parsing.chunks(members, CHUNK_ROWS))
        job = Job(id=new_id("scr"), owner=owner_of(caller), checks=checks, source=intake.source, total=len(members),
                  chunks=chunk_count(len(members), CHUNK_ROWS), rejected=intake.audience.rejected,
                  rejections=intake.audience.rejections, duplicates=intake.audience.duplicates,
                  ms_per_request=await self._pace())
        if self._audit.enabled:  # before the job exists: a screening the trail cannot record never starts
            self._audit.write(audit_line(job, "start", rows=job.total, source=job.source, rejected=job.rejected,
                                         duplicates=job.duplicates))
        await self.store.create(job, chunks)
        self.engine.wake()
        return job

    async def find(self, caller: Caller, job_id: str) -> Job:
        """The caller's job.

        Raises:
            ScreeningNotFoundError: unknown, expired, or another person's (the same answer for all three).
        """
        job = await (await self.ready()).job(job_id) if job_id else None
        if job is None or job.owner.principal != caller.principal:
            raise ScreeningNotFoundError(f"No screening {job_id!r} of yours was found.")
        return job

    async def _settle_here(self, job_id: str, change: Callable[[Job], bool]) -> Job | None:
        """Apply `change` to a job no replica is running (taking its lease for the moment); None if one is."""
        holder = f"{self.engine.holder}:request:{new_id('r')}"
        for _ in range(10):  # another request may hold it for an instant
            if await self.store.acquire(job_id, holder, LEASE_SECONDS):
                try:
                    job = await self.store.job(job_id)
                    if job is not None and change(job):
                        await self.store.write(job.touch(), holder)
                    return job
                finally:
                    await self.store.release(job_id, holder)
            await anyio.sleep(0.1)
        return None

    async def cancel(self, caller: Caller, job_id: str) -> Job:
        """Cancel the caller's job: at once when no replica runs it, else at the running replica's next chunk."""
        job = await self.find(caller, job_id)
        if job.state.finished:
            return job
        await self.store.request_cancel(job.id)
        message = f"Cancelled after {job.done_rows:,} of {job.total:,} customers."

        def cancelled(current: Job) -> bool:
            if current.state.finished or current.state is JobState.RUNNING:
                return False  # finished meanwhile, or a replica runs it (it sees the request)
            current.settle(JobState.CANCELLED, self.settings.screening.screen_ttl, message)
            return True

        if job.state in (JobState.QUEUED, JobState.STOPPED):
            settled = await self._settle_here(job.id, cancelled)
            if settled is not None and settled.state is JobState.CANCELLED and self._audit.enabled:
                self._audit.write(audit_line(settled, "cancel", rows=settled.done_rows, total=settled.total))
        return await self.find(caller, job_id)

    async def resume(self, caller: Caller, job_id: str) -> Job:
        """Resume the caller's stopped job from its checkpoint (a job that is not stopped is left as it is)."""
        job = await self.find(caller, job_id)
        if job.state is not JobState.STOPPED:
            return job

        def queued(current: Job) -> bool:
            if current.state is not JobState.STOPPED:
                return False
            current.state, current.message, current.retry_at, current.expires_at = JobState.QUEUED, None, None, None
            return True

        await self._settle_here(job.id, queued)
        if self._audit.enabled:
            self._audit.write(audit_line(job, "resume", rows=job.done_rows, total=job.total))
        self.engine.wake()
        return await self.find(caller, job_id)

    # -- results out ----------------------------------------------------------------------------------------------

    async def page(self, job: Job, *, cursor: str | None, only: Only | None) -> Page:
        """One page of the job's result rows (those screened so far), `only` one group of outcomes."""
        position, returned = _position(cursor, job.id, only) if cursor else (0, 0)
        wanted = GROUPS[only] if only is not None else None
        total = job.done_rows if wanted is None else sum(
            getattr(job.counts, "errors" if outcome == "error" else outcome) for outcome in wanted)
        rows: list[ScreenedRow] = []
        chunk, offset = divmod(position, CHUNK_ROWS)
        while chunk < job.done_chunks and len(rows) < PAGE_ROWS:
            for index, row in enumerate((await self.store.results(job.id, chunk) or [])[offset:], offset):
                if wanted is None or row.outcome in wanted:
                    rows.append(row)
                    if len(rows) == PAGE_ROWS:
                        position = chunk * CHUNK_ROWS + index + 1
                        break
            else:
                chunk, offset = chunk + 1, 0
                position = chunk * CHUNK_ROWS
        more = returned + len(rows) < total
        return Page(rows, total, _cursor(job.id, position, returned + len(rows), only) if more else None,
                    first=cursor is None)

    async def rows(self, job: Job) -> AsyncIterator[ScreenedRow]:
        """Every result row screened so far, in audience order (chunk by chunk: a large result is never all in
        memory here)."""
        for chunk in range(job.done_chunks):
            for row in await self.store.results(job.id, chunk) or []:
                yield row
