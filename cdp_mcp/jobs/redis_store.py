"""Screening state in Redis (CDP_REDIS_URL): what replicas on several machines share, so any replica answers for a
job and another takes it over when the one running it dies.

Keys, under `{prefix}:screening:{id}`: the document, `:control` (a cancel request, a hash), `:lease` (the
holder, `SET NX PX`), `:in` and `:out` (audience and result rows by chunk, hashes); `{prefix}:screenings:active`
lists the jobs to run; uploaded audiences under `{prefix}:audience:{id}` (and `:rows`). Writes made while running
are Lua scripts that check the lease first, so a replica that lost its lease writes nothing. A job that stops
running gets a TTL on all its keys at once (CDP_SCREEN_TTL): Redis deletes the personal data by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from cdp_mcp.errors import ScreeningStateError
from cdp_mcp.jobs.model import AudienceRecord, Control, Job, Member, ScreenedRow
from cdp_mcp.jobs.store import decode_members, decode_rows, encode_members, encode_rows
from cdp_mcp.redis_connection import EXTEND_LEASE, RELEASE_LEASE, redis_client, redis_location

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.typing import EncodableT

__all__ = ["RedisJobStore"]

_T = TypeVar("_T")

# KEYS: lease, doc, active, control, in, out. ARGV: holder, doc, id, active (1/0), ttl ms, chunk (-1: none), rows.
_FENCED_WRITE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('set', KEYS[2], ARGV[2])
if ARGV[6] ~= '-1' then redis.call('hset', KEYS[6], ARGV[6], ARGV[7]) end
local data = {KEYS[2], KEYS[4], KEYS[5], KEYS[6]}
if ARGV[4] == '1' then
  redis.call('sadd', KEYS[3], ARGV[3])
  for _, key in ipairs(data) do redis.call('persist', key) end
else
  redis.call('srem', KEYS[3], ARGV[3])
  for _, key in ipairs(data) do redis.call('pexpire', key, ARGV[5]) end
end
return 1
"""
# KEYS: lease. ARGV: holder, ms.
_ACQUIRE = """
local held = redis.call('get', KEYS[1])
if not held then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if held == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
return 0
"""
# KEYS: control, doc. The control hash expires with the document.
_CANCEL = """
if redis.call('exists', KEYS[2]) == 0 then return 0 end
redis.call('hset', KEYS[1], 'cancel', 1)
local ttl = redis.call('pttl', KEYS[2])
if ttl > 0 then redis.call('pexpire', KEYS[1], ttl) end
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisJobStore:
    """`JobStore` in Redis (see the module docstring). `prefix` is CDP_REDIS_KEY_PREFIX."""

    def __init__(self, url: SecretStr | str, *, prefix: str = "cdp-mcp", timeout: float = 5.0) -> None:
        self._where = redis_location(url)
        self._prefix = prefix
        self._redis: Redis
        self._redis, self._errors = redis_client(url, timeout=timeout)
        self._fenced_write = self._redis.register_script(_FENCED_WRITE)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._extend = self._redis.register_script(EXTEND_LEASE)
        self._release = self._redis.register_script(RELEASE_LEASE)
        self._cancel = self._redis.register_script(_CANCEL)

    def __repr__(self) -> str:
        return f"RedisJobStore({self._where!r}, prefix={self._prefix!r})"

    def _job(self, job_id: str, part: str = "") -> str:
        return f"{self._prefix}:screening:{job_id}{part}"

    def _audience(self, audience_id: str, part: str = "") -> str:
        return f"{self._prefix}:audience:{audience_id}{part}"

    @property
    def _active(self) -> str:
        return f"{self._prefix}:screenings:active"

    async def _call(self, what: str, pending: Awaitable[_T]) -> _T:
        try:
            return await pending
        except self._errors as exc:
            raise ScreeningStateError(f"Cannot {what} the screening state in Redis at {self._where} "
                                      f"({type(exc).__name__}).") from exc

    # -- lifecycle --------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Nothing to create; connections are made on first use."""

    async def aclose(self) -> None:
        await self._redis.aclose()

    # -- jobs ---------------------------------------------------------------------------------------------------

    async def create(self, job: Job, chunks: Sequence[Sequence[Member]]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._job(job.id), job.model_dump_json())
            pipe.hset(self._job(job.id, ":control"), "cancel", 0)
            encoded: dict[EncodableT, EncodableT] = {str(n): encode_members(c) for n, c in enumerate(chunks)}
            if encoded:
                pipe.hset(self._job(job.id, ":in"), mapping=encoded)
            pipe.sadd(self._active, job.id)
            await self._call("create a job in", pipe.execute())

    async def job(self, job_id: str) -> Job | None:
        raw = await self._call("read", self._redis.get(self._job(job_id)))
        return Job.model_validate_json(raw) if raw is not None else None

    async def control(self, job_id: str) -> Control:
        raw = await self._call("read", self._redis.hget(self._job(job_id, ":control"), "cancel"))
        return Control(cancel=raw is not None and _text(raw) == "1")

    async def request_cancel(self, job_id: str) -> None:
        await self._call("write", self._cancel(keys=[self._job(job_id, ":control"), self._job(job_id)]))

    async def acquire(self, job_id: str, holder: str, seconds: float) -> bool:
        keys = [self._job(job_id, ":lease")]
        return bool(await self._call("lease", self._acquire(keys=keys, args=[holder, max(1, round(seconds * 1000))])))

    async def extend(self, job_id: str, holder: str, seconds: float) -> bool:
        keys = [self._job(job_id, ":lease")]
        return bool(await self._call("lease", self._extend(keys=keys, args=[holder, max(1, round(seconds * 1000))])))

    async def release(self, job_id: str, holder: str) -> None:
        await self._call("release", self._release(keys=[self._job(job_id, ":lease")], args=[holder]))

    async def lease_holder(self, job_id: str) -> str | None:
        raw = await self._call("read", self._redis.get(self._job(job_id, ":lease")))
        return _text(raw) if raw is not None else None

    async def _write(self, job: Job, holder: str, chunk: int, rows: str) -> bool:
        keys = [self._job(job.id, ":lease"), self._job(job.id), self._active, self._job(job.id, ":control"),
                self._job(job.id, ":in"), self._job(job.id, ":out")]
        ttl = 1
        if job.expires_at is not None:
            ttl = max(1, round((job.expires_at - datetime.now(UTC)).total_seconds() * 1000))
        args: list[EncodableT] = [holder, job.model_dump_json(), job.id, int(job.state.active), ttl, chunk, rows]
        return bool(await self._call("write", self._fenced_write(keys=keys, args=args)))

    async def write(self, job: Job, holder: str) -> bool:
        return await self._write(job, holder, -1, "")

    async def commit(self, job: Job, chunk: int, rows: Sequence[ScreenedRow], holder: str) -> bool:
        return await self._write(job, holder, chunk, encode_rows(rows))

    async def active(self) -> list[str]:
        return sorted(_text(m) for m in await self._call("read", self._redis.smembers(self._active)))

    async def members(self, job_id: str, chunk: int) -> list[Member]:
        raw = await self._call("read", self._redis.hget(self._job(job_id, ":in"), str(chunk)))
        return decode_members(raw) if raw is not None else []

    async def results(self, job_id: str, chunk: int) -> list[ScreenedRow] | None:
        raw = await self._call("read", self._redis.hget(self._job(job_id, ":out"), str(chunk)))
        return decode_rows(raw) if raw is not None else None

    # -- uploaded audiences -------------------------------------------------------------------------------------

    async def put_audience(self, record: AudienceRecord, chunks: Sequence[Sequence[Member]]) -> None:
        ttl = max(1, round((record.expires_at - datetime.now(UTC)).total_seconds() * 1000))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._audience(record.id), record.model_dump_json(), px=ttl)
            if chunks:
                rows: dict[EncodableT, EncodableT] = {str(n): encode_members(c) for n, c in enumerate(chunks)}
                pipe.hset(self._audience(record.id, ":rows"), mapping=rows)
                pipe.pexpire(self._audience(record.id, ":rows"), ttl)
            await self._call("store an audience in", pipe.execute())

    async def audience(self, audience_id: str) -> AudienceRecord | None:
        raw = await self._call("read", self._redis.get(self._audience(audience_id)))
        return AudienceRecord.model_validate_json(raw) if raw is not None else None

    async def audience_members(self, audience_id: str, chunk: int) -> list[Member]:
        raw = await self._call("read", self._redis.hget(self._audience(audience_id, ":rows"), str(chunk)))
        return decode_members(raw) if raw is not None else []

    # -- housekeeping -------------------------------------------------------------------------------------------

    async def note_latency(self, ms_per_request: float) -> None:
        await self._call("write", self._redis.set(f"{self._prefix}:screenings:latency", repr(ms_per_request)))

    async def latency(self) -> float | None:
        raw = await self._call("read", self._redis.get(f"{self._prefix}:screenings:latency"))
        return float(_text(raw)) if raw is not None else None

    async def sweep(self) -> int:
        """Expired keys go by themselves; this drops ids of vanished jobs from the active set."""
        gone = 0
        for job_id in await self.active():
            if not await self._call("read", self._redis.exists(self._job(job_id))):
                await self._call("write", self._redis.srem(self._active, job_id))
                gone += 1
        return gone
