"""Token state shared by replicas on several machines, in Redis: the `TokenStore` protocol over one key per
namespace, with a lease as the cross-machine lock.

The state is one JSON document per namespace under `{prefix}:{namespace}:state` (the namespace is a digest,
never the tenant hash). The lock is a lease under `{prefix}:{namespace}:lock`: taken with `SET NX PX` and a
random value, extended while held by a background task (compare-and-extend), released only by its holder
(compare-and-delete), so a replica that dies holding it blocks the others for one lease at most. Saves are
fenced: written only while the lease is still this holder's, in the same script, so a holder that stalled past
its lease and was replaced cannot overwrite the new holder's state.

redis-py is an optional extra (`pip install 'cdp-mcp[redis]'`), imported only when a client is made
(`redis_connection.redis_client`, shared with the rate limiter and doctor).
The values hold live tokens: they are never logged, and the Redis server must be access-controlled (ACL, TLS
with rediss://). The URL may carry a password: it is kept as a `SecretStr` and shown without user-info.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import anyio
from pydantic import SecretStr

from cdp_mcp.broker.state import StoredState
from cdp_mcp.broker.store import decode_state, encode_state
from cdp_mcp.errors import TokenStoreError, TokenStoreLockedError
from cdp_mcp.redis_connection import EXTEND_LEASE, RELEASE_LEASE, URL_HINT, redis_client, redis_location

if TYPE_CHECKING:
    pass

__all__ = ["DEFAULT_LEASE", "RedisTokenStore"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_LEASE = 10.0
"""Seconds a lease lives unless extended: the longest a replica that died holding the lock blocks the others."""
_RENEWALS_PER_LEASE = 3  # extend three times per lease: two extensions may fail before the lease is lost
_BACKOFF_FIRST, _BACKOFF_MAX = 0.005, 0.1  # seconds between attempts on a contended lease (real time)

# KEYS[1] the lease, ARGV[1] its holder's value: act only while the lease is still that holder's (EXTEND_LEASE
# and RELEASE_LEASE, shared with the job store, are in redis_connection).
_FENCED_SET = """
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[2], ARGV[2]) return 1 end
return 0
"""


class RedisTokenStore:
    """Broker state in Redis, shared by every replica that uses the same server, prefix and namespace.

    Args:
        url: `redis://`, `rediss://` or `unix://` URL (`CDP_REDIS_URL`); may carry a password.
        prefix: the first part of every key (`CDP_REDIS_KEY_PREFIX`).
        lock_timeout: seconds `locked` waits for a lease another replica holds.
        lease: seconds a lease lives unless extended (extended while held).
        timeout: seconds to connect to Redis and for each command.
    """

    def __init__(self, url: SecretStr | str, *, prefix: str = "cdp-mcp", lock_timeout: float = 120.0,
                 lease: float = DEFAULT_LEASE, timeout: float = 5.0) -> None:
        self._where = redis_location(url)
        self._prefix = prefix
        self._lock_timeout = lock_timeout
        self._lease = lease
        self._lease_ms = max(1, round(lease * 1000))
        self._timeout = timeout
        self._local: dict[str, anyio.Lock] = {}
        self._held: dict[str, str] = {}  # namespace -> the value of the lease this store holds on it
        self._redis, self._errors = redis_client(url, timeout=timeout)
        self._extend = self._redis.register_script(EXTEND_LEASE)
        self._release = self._redis.register_script(RELEASE_LEASE)
        self._fenced_set = self._redis.register_script(_FENCED_SET)

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._where!r}, prefix={self._prefix!r})"

    def state_key(self, namespace: str) -> str:
        return f"{self._prefix}:{namespace}:state"

    def lock_key(self, namespace: str) -> str:
        return f"{self._prefix}:{namespace}:lock"

    # -- TokenStore ----------------------------------------------------------------------------------------

    async def load(self, namespace: str) -> StoredState:
        data = await self._call("read", self._redis.get(self.state_key(namespace)))
        if data is None:
            return StoredState()
        return decode_state(data if isinstance(data, bytes) else data.encode(), where=f"in Redis ({self._where})")

    async def save(self, namespace: str, state: StoredState) -> None:
        lease = self._held.get(namespace)
        if lease is None:
            raise RuntimeError("RedisTokenStore.save() outside locked(): writes are fenced by the lease")
        keys = [self.lock_key(namespace), self.state_key(namespace)]
        if not await self._call("write", self._fenced_set(keys=keys, args=[lease, encode_state(state)])):
            raise TokenStoreLockedError(
                f"The token state lease in Redis ran out before this change was saved (lease {self._lease:g} s).",
                hint="Redis was unreachable or this process stalled for longer than the lease, and another replica "
                     "may have taken over: retry the call.",
            )

    @asynccontextmanager
    async def locked(self, namespace: str) -> AsyncIterator[None]:
        local = self._local.setdefault(namespace, anyio.Lock())
        async with local:  # one holder per store instance; the lease then excludes every other replica
            key = self.lock_key(namespace)
            lease = await self._acquire(key)
            try:
                self._held[namespace] = lease
                failure: Exception | None = None
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(self._keep, key, lease)
                    try:
                        yield
                    except Exception as exc:  # noqa: BLE001 - re-raised below as itself, not wrapped in a group
                        failure = exc
                    finally:
                        tasks.cancel_scope.cancel()
                if failure is not None:
                    raise failure
            finally:
                self._held.pop(namespace, None)
                await self._give_back(key, lease)

    async def aclose(self) -> None:
        await self._redis.aclose()

    # -- the lease -----------------------------------------------------------------------------------------

    async def _acquire(self, key: str) -> str:
        """Take the lease, retrying with short jittered backoff; give up after the lock timeout."""
        lease = secrets.token_hex(16)
        deadline = anyio.current_time() + self._lock_timeout
        pause = _BACKOFF_FIRST
        while True:
            with anyio.CancelScope(shield=True):  # a lease the server granted must not be lost to a cancel
                got = await self._call("lock", self._redis.set(key, lease, nx=True, px=self._lease_ms))
            if got:
                return lease
            left = deadline - anyio.current_time()
            if left <= 0:
                raise TokenStoreLockedError(
                    f"The token state in Redis has been locked by another cdp-mcp replica for "
                    f"{self._lock_timeout:.0f} s.",
                    hint=f"That replica may be hung (a slow token API): retry. A replica that died frees the lock "
                         f"within {self._lease:g} s; do not delete the {self._prefix}:*:lock key while replicas run.",
                )
            await anyio.sleep(min(left, pause * random.uniform(0.5, 1.0)))
            pause = min(2 * pause, _BACKOFF_MAX)

    async def _keep(self, key: str, lease: str) -> None:
        """Extend the lease while held; never raises (the holder's save finds out if the lease was lost)."""
        while True:
            await anyio.sleep(self._lease / _RENEWALS_PER_LEASE)
            try:
                kept = await self._extend(keys=[key], args=[lease, self._lease_ms])
            except self._errors as exc:
                logger.warning("Could not extend the token state lease in Redis (%s); retrying", type(exc).__name__)
                continue
            if not kept:
                logger.warning("The token state lease in Redis ran out while held (a stall of more than %g s); "
                               "changes made under it will not be saved", self._lease)
                return

    async def _give_back(self, key: str, lease: str) -> None:
        """Release the lease if it is still ours; bounded and shielded (it expires on its own anyway)."""
        with anyio.move_on_after(self._timeout, shield=True):
            try:
                await self._release(keys=[key], args=[lease])
            except self._errors as exc:
                logger.warning("Could not release the token state lease in Redis (%s); it expires within %g s",
                               type(exc).__name__, self._lease)

    async def _call(self, what: str, pending: Awaitable[T]) -> T:
        """Await a Redis command; a failure to reach or use Redis becomes a TokenStoreError naming the setting."""
        try:
            return await pending
        except self._errors as exc:
            raise TokenStoreError(f"Cannot {what} the token state in Redis at {self._where} ({type(exc).__name__}).",
                                  hint=URL_HINT) from exc
