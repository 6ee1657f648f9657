"""Tool calls per minute per person: a token bucket, in this process or shared by replicas through Redis.

Each principal has a bucket of `per_minute` calls that refills continuously (`per_minute / 60` a second),
so a person may burst up to the limit and then goes on at the steady rate. With CDP_REDIS_URL set the
bucket lives in Redis and one Lua script takes from it atomically on Redis's own clock, so replicas behind
a load balancer enforce one limit, not one each. Keys are `{prefix}:rate:{digest of the principal}`.

When Redis cannot be reached the call is refused (`RateLimitStoreUnavailableError`, a tool error that says the
rate limit store is unavailable) and a warning logged (at most once a minute): the limit is there to bound what
one person can read, and a Redis outage must not lift it. Redis's client reconnects by itself, so calls are
admitted again as soon as Redis is back.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

from cdp_mcp.errors import RateLimitStoreUnavailableError
from cdp_mcp.redis_connection import redis_client, redis_location
from cdp_mcp.settings import DEFAULT_RATE_LIMIT

if TYPE_CHECKING:
    from cdp_mcp.settings import Settings

__all__ = ["DEFAULT_RATE_LIMIT", "LocalBuckets", "RateLimiter", "RedisBuckets",
           "effective_rate_limit", "rate_limiter_for"]

logger = logging.getLogger(__name__)

_WARN_EVERY = 60.0

# KEYS[1] the bucket; ARGV: refill per second, capacity, key lifetime in ms. Returns {allowed, wait seconds}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed, wait = 0, (1 - tokens) / rate
if tokens >= 1 then tokens, allowed, wait = tokens - 1, 1, 0 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, tostring(wait)}
"""


def effective_rate_limit(settings: Settings) -> int:
    """CDP_MCP_RATE_LIMIT, else 120 a minute with OAuth sign-in and no limit otherwise (as before)."""
    if settings.server.mcp_rate_limit is not None:
        return settings.server.mcp_rate_limit
    return DEFAULT_RATE_LIMIT if settings.sign_in.enabled else 0


class RateLimiter(Protocol):
    """Takes one call from a principal's bucket: None when allowed, else seconds until one is available."""

    per_minute: int

    async def take(self, principal: str) -> float | None:
        """Raises `RateLimitStoreUnavailableError` when the buckets cannot be reached (the call is refused)."""
        ...

    async def aclose(self) -> None: ...


class LocalBuckets:
    """Buckets in this process (one replica, or no Redis)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def __repr__(self) -> str:
        return f"LocalBuckets({self.per_minute}/min)"

    async def take(self, principal: str) -> float | None:
        now = self._clock()
        tokens, at = self._buckets.get(principal, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * self._rate)
        if tokens >= 1:
            self._buckets[principal] = (tokens - 1, now)
            return None
        self._buckets[principal] = (tokens, now)
        return (1 - tokens) / self._rate

    async def aclose(self) -> None:
        self._buckets.clear()


class RedisBuckets:
    """Buckets in Redis, shared by every replica using the same server and key prefix."""

    def __init__(self, per_minute: int, url: SecretStr, *, prefix: str, timeout: float = 2.0) -> None:
        self.per_minute = per_minute
        self._location = redis_location(url)
        self._prefix = prefix
        self._redis, self._errors = redis_client(url, timeout=timeout)
        self._take = self._redis.register_script(_TAKE)
        self._ttl_ms = str(60_000 + 1000)  # a full bucket refills within a minute; then the key may go
        self._warned = float("-inf")

    def __repr__(self) -> str:
        return f"RedisBuckets({self.per_minute}/min, prefix={self._prefix!r})"

    def key(self, principal: str) -> str:
        return f"{self._prefix}:rate:{hashlib.sha256(principal.encode()).hexdigest()[:32]}"

    async def take(self, principal: str) -> float | None:
        try:
            allowed, wait = await self._take(keys=[self.key(principal)],
                                             args=[str(self.per_minute / 60.0), str(self.per_minute), self._ttl_ms])
        except self._errors as exc:
            if time.monotonic() - self._warned > _WARN_EVERY:
                self._warned = time.monotonic()
                logger.warning("Refusing tool calls: the rate limit store (Redis at %s) is unreachable (%s)",
                               self._location, type(exc).__name__)
            raise RateLimitStoreUnavailableError(self._location) from None
        return None if int(allowed) == 1 else float(wait)

    async def aclose(self) -> None:
        await self._redis.aclose()


def rate_limiter_for(settings: Settings) -> RateLimiter | None:
    """The limiter the settings ask for, or None when the limit is off."""
    per_minute = effective_rate_limit(settings)
    if per_minute <= 0:
        return None
    if settings.state.redis_url is not None:
        return RedisBuckets(per_minute, settings.state.redis_url, prefix=settings.state.redis_key_prefix)
    return LocalBuckets(per_minute)
