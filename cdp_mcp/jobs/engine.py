"""The job engine: runs screening jobs in the background of a server, chunk by chunk, resumable anywhere.

Every replica runs one engine in its lifespan's task group (never in a request: a request ends with its answer).
It looks for active jobs (at once when woken, else every `SCAN_SECONDS`) and takes each one whose lease is free:
a new job, or one whose replica died (its lease ran out, or at once when the dead process was on this machine).
Holding the lease it screens the next chunk, writes the chunk's rows and the checkpoint in one fenced write,
audits the chunk, and goes on; a restart or `kill -9` repeats at most the chunk in flight. While it works the
lease is extended; losing it stops the work at once.

Failures: a row the API failed for passingly (429, 5xx, timeouts) is screened again after a pause (the job shows
`paused`, honouring `Retry-After`); failing for longer than 10 x CDP_CALL_TIMEOUT stops the job. The token quota
spent or the tenant credentials refused stop it at once, saying when or what to fix; a stopped job is resumed on
request from its checkpoint. A cancel request is seen at the next chunk (or during a pause). The job acts for its
owner (`access.caller.acting_for`): their grants apply to every fetch, and the audit lines name them.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio

from cdp_mcp import metrics
from cdp_mcp.access.audit import identifier_hashes
from cdp_mcp.access.caller import Caller, acting_for, noting_reads
from cdp_mcp.client.resources.segments import Segment
from cdp_mcp.errors import AuditUnavailableError, CdpError, RateLimitedError, TokenQuotaError
from cdp_mcp.jobs import SCAN_SECONDS
from cdp_mcp.jobs.model import Job, JobState, Member, NameSearchState, Owner, ScreenedRow, now
from cdp_mcp.jobs.pacing import Counted, Pacer
from cdp_mcp.jobs.rows import PASSING, STOPPING, CheckCustomer, NameSearch, Screened, screen_member

if TYPE_CHECKING:
    from cdp_mcp.access.audit import AuditTrail
    from cdp_mcp.backend import Backend
    from cdp_mcp.jobs.model import Checks
    from cdp_mcp.jobs.store import JobStore
    from cdp_mcp.settings import Settings

__all__ = ["LEASE_SECONDS", "SCAN_SECONDS", "Engine", "audit_line", "caller_of", "holder_is_dead", "name_search",
           "new_holder"]

logger = logging.getLogger(__name__)

LEASE_SECONDS = 10.0
"""How long a job stays claimed by a replica that stopped extending its lease (died): the takeover delay."""
SWEEP_SECONDS = 60.0
MAX_RUNNING = 4
"""Jobs one replica runs at once; they share CDP_SCREEN_CONCURRENCY requests in flight."""
_BACKOFF = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0)
VIA = "job"
"""How the metrics name the rows a screening job screened."""
_OUTAGE_CALLS = 10
"""A chunk failing for longer than this many CDP_CALL_TIMEOUTs stops the job."""
AUDITED_TOOL = "screen_audience"


class _Stop(Exception):
    """The job cannot go on until a person acts (quota, credentials, a long outage)."""

    def __init__(self, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_at = retry_at


class _Pace:
    """The pace a job keeps: wall milliseconds per upstream request and request slot (CDP_SCREEN_CONCURRENCY), from
    its chunks' wall time, so the time a person is told includes what passes between requests (rows waiting for
    their chunk, a chunk for its audit line and checkpoint, a CPU shared with others) and not the API's latency
    alone, which is its floor."""

    def __init__(self, pacer: Pacer) -> None:
        self._pacer = pacer
        self._seconds = 0.0
        self._requests = 0

    def add(self, seconds: float, requests: int) -> None:
        self._seconds += seconds
        self._requests += requests

    @property
    def ms_per_request(self) -> float | None:
        latency = self._pacer.ms_per_request
        if not self._requests:
            return latency
        kept = self._seconds * 1000 * self._pacer.concurrency / self._requests
        return max(kept, latency or 0.0)


class _LeaseLost(Exception):
    """Another replica holds the job now: stop without writing."""


class _Cancelled(Exception):
    """A cancel request was seen."""


def _machine() -> str:
    """This host and process namespace: where a holder's process id can be checked (`holder_is_dead`)."""
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:  # no /proc (macOS, Windows): no pid namespaces either
        namespace = "-"
    return f"{socket.gethostname()}/{namespace}"


def new_holder() -> str:
    """This process's name on the leases it takes (`host/pid-namespace:pid:random`): readable in Redis, unique per
    start, and checkable by a sibling on the same machine."""
    return f"{_machine()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_is_dead(holder: str | None) -> bool:
    """Whether `holder` names a process of this machine (and pid namespace) that no longer runs: a server killed
    and restarted need not wait for its old lease to run out."""
    if holder is None:
        return False
    machine, _, rest = holder.partition(":")
    pid_text = rest.split(":", 1)[0]
    if machine != _machine() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, as another user's process
        return False
    return False


def caller_of(owner: Owner) -> Caller:
    """The person a job acts for, with the scopes they had when they started it."""
    return Caller(owner.principal, owner.client_id, owner.transport,
                  frozenset(owner.scopes) if owner.scopes is not None else None)


def name_search(job: Job) -> NameSearch | None:
    """The segment-name search of a job, carried across chunks and replicas."""
    if job.checks.segment_name is None:
        return None
    state = job.name_search
    exact = Segment(id=state.exact_id, name=state.exact_name) if state.exact_id is not None else None
    return NameSearch(job.checks.segment_name, state.searched, exact, set(state.similar))


def audit_line(job: Job, event: str, outcome: str = "ok", **fields: Any) -> dict[str, Any]:
    """One audit line about a job (start, chunk, stop, cancel, finish): who, which job, what happened."""
    return {"time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "principal": job.owner.principal, "client_id": job.owner.client_id, "tool": AUDITED_TOOL,
            "event": event, "screening_id": job.id, **fields, "outcome": outcome, "transport": job.owner.transport}


class Engine:
    """Runs the store's active jobs (see the module docstring); `run()` until cancelled, `wake()` after a change.

    Args:
        store: opens (once) and returns the shared job store.
        settings: CDP_CALL_TIMEOUT (the outage limit is ten of them), CDP_SCREEN_TTL.
        check: how one customer is checked (`rows.CheckCustomer`).
        backend: opens (or returns) the backend the rows are fetched through.
        audit: the audit trail (lines only when it is enabled).
        pacer: the process's bound on requests in flight.
    """

    def __init__(self, store: Callable[[], Awaitable[JobStore]], settings: Settings, check: CheckCustomer,
                 backend: Callable[[], Awaitable[Backend]], audit: AuditTrail, pacer: Pacer, *,
                 holder: str | None = None) -> None:
        self._open_store = store
        self._store: JobStore | None = None
        self.settings = settings
        self.check = check
        self.pacer = pacer
        self.holder = holder or new_holder()
        self._backend = backend
        self._audit = audit
        self._running: set[str] = set()
        self._wake = anyio.Event()
        self._pauses = 0  # pauses waited out by any job of this engine (a chunk with one is no pace sample)
        self._outage_limit = _OUTAGE_CALLS * settings.server.call_timeout

    def __repr__(self) -> str:
        return f"Engine(holder={self.holder!r}, running={len(self._running)})"

    @property
    def store(self) -> JobStore:
        if self._store is None:
            raise RuntimeError("the engine's store is not open yet")
        return self._store

    def wake(self) -> None:
        """Look for jobs now (a job was created or resumed)."""
        self._wake.set()

    async def run(self) -> None:
        """Take and run active jobs until cancelled; sweep expired ones now and then. The first look is after
        `SCAN_SECONDS` (or a wake-up): starting a server costs nothing until there is a job."""
        next_sweep = 0.0
        async with anyio.create_task_group() as jobs:
            while True:
                with anyio.move_on_after(SCAN_SECONDS):
                    await self._wake.wait()
                self._wake = anyio.Event()
                try:
                    self._store = await self._open_store()
                    if time.monotonic() >= next_sweep:
                        await self.store.sweep()
                        next_sweep = time.monotonic() + SWEEP_SECONDS
                    for job_id in await self.store.active():
                        if job_id in self._running or len(self._running) >= MAX_RUNNING:
                            continue
                        if await self._take(job_id):
                            self._running.add(job_id)
                            jobs.start_soon(self._run_job, job_id)
                except CdpError as exc:  # the store is unreachable: try again later, the server stays up
                    logger.warning("screening jobs: %s", exc.message)

    async def _take(self, job_id: str) -> bool:
        """Take the job's lease: free, run out, or held by a dead process of this machine (a restart)."""
        if await self.store.acquire(job_id, self.holder, LEASE_SECONDS):
            return True
        holder = await self.store.lease_holder(job_id)
        if not holder_is_dead(holder):
            return False
        logger.info("screening %s: its server died; taking it over now", job_id)
        await self.store.release(job_id, str(holder))
        return await self.store.acquire(job_id, self.holder, LEASE_SECONDS)

    async def _run_job(self, job_id: str) -> None:
        try:
            async with anyio.create_task_group() as holding:
                holding.start_soon(self._keep_lease, job_id, holding.cancel_scope)
                try:
                    await self._work(job_id)
                finally:
                    holding.cancel_scope.cancel()
        except Exception:
            logger.exception("screening %s: the engine failed", job_id)
        finally:
            self._running.discard(job_id)
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                try:
                    await self.store.release(job_id, self.holder)
                except CdpError as exc:
                    logger.warning("screening %s: lease not released (%s); it runs out by itself", job_id,
                                   exc.message)
            self.wake()  # a job waiting for a free place can start now

    async def _keep_lease(self, job_id: str, work: anyio.CancelScope) -> None:
        while True:
            await anyio.sleep(LEASE_SECONDS / 3)
            try:
                kept = await self.store.extend(job_id, self.holder, LEASE_SECONDS)
            except CdpError as exc:
                logger.warning("screening %s: cannot extend the lease (%s); retrying", job_id, exc.message)
                continue
            if not kept:
                logger.warning("screening %s: another replica took it over; stopping here", job_id)
                work.cancel()
                return

    # -- one job ------------------------------------------------------------------------------------------------

    async def _work(self, job_id: str) -> None:
        job = await self.store.job(job_id)
        if job is None or not job.state.active:
            return
        metrics.screening_job_started()
        ending = "handed over"  # the lease lost, or this server stopping: another replica goes on
        with acting_for(caller_of(job.owner)):
            try:
                await self._screen(job)
                ending = "completed"
            except _LeaseLost:
                logger.info("screening %s: lease lost; the replica now holding it goes on", job_id)
            except _Cancelled:
                ending = "cancelled"
                job.settle(JobState.CANCELLED, self.settings.screening.screen_ttl,
                           f"Cancelled after {job.done_rows:,} of {job.total:,} customers.")
                await self._settled(job, "cancel")
            except _Stop as stop:
                ending = "stopped"
                job.stops += 1
                job.retry_at = stop.retry_at
                job.settle(JobState.STOPPED, self.settings.screening.screen_ttl, stop.message)
                await self._settled(job, "stop", "stopped")
            except Exception:
                ending = "failed"
                request_id = secrets.token_hex(6)
                logger.exception("screening %s failed unexpectedly (request id %s)", job_id, request_id)
                job.settle(JobState.FAILED, self.settings.screening.screen_ttl,
                           f"The screening failed unexpectedly (request id {request_id}); report the request id.")
                await self._settled(job, "finish", "INTERNAL")
            finally:
                metrics.screening_job_ended(ending)

    async def _settled(self, job: Job, event: str, outcome: str = "ok") -> None:
        with anyio.CancelScope(shield=True):
            try:
                if await self.store.write(job, self.holder):
                    await self._write_audit(audit_line(job, event, outcome, rows=job.done_rows, total=job.total))
            except CdpError as exc:
                logger.warning("screening %s: could not save its end (%s)", job.id, exc.message)

    async def _write_audit(self, line: dict[str, Any]) -> None:
        if self._audit.enabled:
            self._audit.write(line)

    async def _audited(self, job: Job, line: dict[str, Any]) -> None:
        """Write a chunk's audit line before its rows are kept (none is kept unaudited); while the trail cannot be
        written the job pauses, and past the outage limit it stops."""
        attempt, failing_since = 0, None
        while True:
            try:
                await self._write_audit(line)
            except AuditUnavailableError as exc:
                failing_since = failing_since if failing_since is not None else time.monotonic()
                wait = _BACKOFF[min(attempt, len(_BACKOFF) - 1)]
                attempt += 1
                if time.monotonic() - failing_since + wait > self._outage_limit:
                    raise _Stop(f"The audit trail could not be written for {self._outage_limit:g} s ({exc.code}). The "
                                "rows screened so far are kept; resume the screening once the audit trail "
                                "(CDP_AUDIT_LOG) can be written.") from None
                job.state, job.retry_at = JobState.PAUSED, now() + timedelta(seconds=wait)
                job.message = (f"Paused: the audit trail cannot be written, and no row is kept unaudited. Retrying "
                               f"at {job.retry_at:%H:%M:%S} UTC.")
                await self._write(job)
                await self._pause(job, wait)
                continue
            if job.state is JobState.PAUSED:
                job.state, job.message, job.retry_at = JobState.RUNNING, None, None
            return

    async def _write(self, job: Job) -> None:
        if not await self.store.write(job.touch(), self.holder):
            raise _LeaseLost

    async def _screen(self, job: Job) -> None:
        if (await self.store.control(job.id)).cancel:
            raise _Cancelled
        backend = await self._backend()
        search = name_search(job)
        job.state, job.message, job.retry_at = JobState.RUNNING, None, None
        await self._write(job)
        counted = self.pacer.counting()
        pace = _Pace(self.pacer)
        for chunk in range(job.done_chunks, job.chunks):
            if (await self.store.control(job.id)).cancel:
                raise _Cancelled
            began, pauses = time.monotonic(), self._pauses
            members = await self.store.members(job.id, chunk)
            with noting_reads() as reads:
                rows = await self._chunk(job, members, backend, search, counted)
            await self._audited(job, self._chunk_line(job, chunk, members, rows, sorted(reads)))
            job.requests += counted.requests
            if self._pauses == pauses:  # a chunk that waited out a pause says nothing of the pace
                pace.add(time.monotonic() - began, counted.requests)
            counted.requests = 0
            job.counts = job.counts.add(rows)
            job.done_chunks, job.done_rows = chunk + 1, job.done_rows + len(rows)
            job.ms_per_request = pace.ms_per_request
            if search is not None:
                exact = search.exact
                job.name_search = NameSearchState(searched=search.searched,
                                                  exact_id=exact.id if exact is not None else None,
                                                  exact_name=exact.name if exact is not None else None,
                                                  similar=sorted(search.similar, key=str.casefold)[:5])
            if not await self.store.commit(job.touch(), chunk, rows, self.holder):  # rows and checkpoint at once
                raise _LeaseLost
            for outcome, count in Counter(row.outcome for row in rows).items():
                metrics.screening_rows(VIA, outcome, count)
        if search is not None and (missing := search.not_found()) is not None:
            job.error = missing.for_model()
        job.settle(JobState.COMPLETED, self.settings.screening.screen_ttl,
                   f"Screened {job.total:,} customers: {job.counts.eligible:,} eligible.")
        await self._settled(job, "finish")
        if job.ms_per_request is not None:
            await self.store.note_latency(job.ms_per_request)

    def _chunk_line(self, job: Job, chunk: int, members: Sequence[Member], rows: Sequence[ScreenedRow],
                    reads: list[str]) -> dict[str, Any]:
        hashes = [identifier_hashes(self._audit.key, m.identity()) for m in members] if self._audit.enabled else []
        return audit_line(job, "chunk", chunk=chunk, rows=len(rows), resources=reads,
                          gcr_ids=[r.gcr_id for r in rows if r.gcr_id is not None], identifiers=hashes)

    async def _chunk(self, job: Job, members: Sequence[Member], backend: Backend, search: NameSearch | None,
                     counted: Counted) -> list[ScreenedRow]:
        """The chunk's rows, every one screened: rows the API failed for passingly are screened again after a
        pause, until the outage limit stops the job."""
        done: dict[int, ScreenedRow] = {}
        pending = list(members)
        attempt, failing_since = 0, None
        while True:
            results = await self._rows(pending, job.checks, backend, search, counted)
            again: list[Member] = []
            passing: list[CdpError] = []
            for member, result in zip(pending, results, strict=True):
                if (stop := result.first(STOPPING)) is not None:
                    raise _Stop(*_stop_reason(stop, job))
                if (error := result.first(PASSING)) is not None:
                    again.append(member)
                    passing.append(error)
                else:
                    done[member.line] = result.row
            if not again:
                if job.state is JobState.PAUSED:
                    job.state, job.message, job.retry_at = JobState.RUNNING, None, None
                return [done[m.line] for m in members]
            wait = _pause(passing, attempt)
            attempt += 1
            failing_since = failing_since if failing_since is not None else time.monotonic()
            if time.monotonic() - failing_since + wait > self._outage_limit:
                raise _Stop(f"The Customer Profile API kept failing for {self._outage_limit:g} s "
                            f"({passing[0].message}). The rows screened so far are kept; resume the screening "
                            "once the API is back.")
            job.state, job.retry_at = JobState.PAUSED, now() + timedelta(seconds=wait)
            job.message = (f"Paused: {passing[0].message} Retrying {len(again):,} customers at "
                           f"{job.retry_at:%H:%M:%S} UTC.")
            await self._write(job)
            await self._pause(job, wait)
            pending = again

    async def _pause(self, job: Job, seconds: float) -> None:
        """Wait out a pause, seeing a cancel request within a second."""
        self._pauses += 1
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            await anyio.sleep(min(1.0, left))
            if (await self.store.control(job.id)).cancel:
                raise _Cancelled

    async def _rows(self, members: Sequence[Member], checks: Checks, backend: Backend, search: NameSearch | None,
                    counted: Counted) -> list[Screened]:
        results: list[Screened | None] = [None] * len(members)

        async def one(index: int, member: Member) -> None:
            results[index] = await screen_member(self.check, backend, member, checks, search=search, limiter=counted)

        async with anyio.create_task_group() as rows:
            for index, member in enumerate(members):
                rows.start_soon(one, index, member)
        return [r for r in results if r is not None]


def _pause(errors: Sequence[CdpError], attempt: int) -> float:
    """Seconds to wait before screening failed rows again: the longest Retry-After asked, else a backoff."""
    asked = [e.retry_after for e in errors if isinstance(e, RateLimitedError) and e.retry_after is not None]
    return max(asked) if asked else _BACKOFF[min(attempt, len(_BACKOFF) - 1)]


def _stop_reason(error: CdpError, job: Job) -> tuple[str, datetime | None]:
    kept = f"{job.done_rows:,} of {job.total:,} customers are screened and kept"
    if isinstance(error, TokenQuotaError):
        when = f"at {error.retry_at:%Y-%m-%d %H:%M} UTC" if error.retry_at else "tomorrow"
        return (f"The tenant's daily token creations are spent: creation is possible again {when}. {kept}; resume "
                "the screening then.", error.retry_at)
    return f"{error.message} {error.hint} {kept}; resume the screening once it is fixed.".replace("  ", " "), None


def chunk_count(rows: int, size: int) -> int:
    return max(1, math.ceil(rows / size))
