"""The token broker: a live, least-privilege token for every call, at the smallest cost in token creations.

Tokens are cached by scope (the exact resource set of a call), extended with update at 80% of their lifetime,
renewed once when a data call reports a 401, and persisted with a rolling creation ledger so restarts and
sibling processes reuse them. One flight per scope: concurrent callers wait for a single creation or renewal
and take its token, or share its failure (a cancelled flight hands over to the next caller). Every change
happens under the store's cross-process lock on freshly loaded state (see `renewal.Renewer`); calls in
between are served from memory, except a token idle long enough that another process may re-scope it.

Under the `shared` policy one token serves every call and its resource set grows through update. That costs
one creation a day instead of one per scope, at a price: a leaked token reads every resource it has grown to.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import anyio

from cdp_mcp.broker.ledger import Allowance
from cdp_mcp.broker.redis_store import RedisTokenStore
from cdp_mcp.broker.renewal import BrokerStats, Renewer
from cdp_mcp.broker.state import SHARED_SCOPE_KEY, StoredState, TokenRecord, scope_key
from cdp_mcp.broker.store import FileTokenStore, TokenStore, namespace_for
from cdp_mcp.catalog import RESOURCE_NAMES
from cdp_mcp.client.protocols import TokenApi
from cdp_mcp.clock import Clock, SystemClock
from cdp_mcp.errors import CdpError
from cdp_mcp.settings import SANDBOX_TENANT_HASH, Settings

__all__ = ["KEEP_ALIVE_MIN_GAP", "RECHECK", "SWEEP_RETRY", "BrokerStats", "TokenBroker"]

logger = logging.getLogger(__name__)

KEEP_ALIVE_MIN_GAP = 1.0
"""Seconds the keep-alive loop waits after a sweep, so a clock that stands still cannot make it spin."""

RECHECK = timedelta(seconds=60)
"""How long a cached token is handed out before the store is consulted again (another process may have
re-scoped or replaced it). Consulting is a lock-free read; usage times are written back at most every
`idle_after / 2`, so other processes can tell a token in use from an idle one. A token not handed out for
`idle_after / 2 - RECHECK` is always consulted: by then a sibling near the daily limit may re-scope it."""
SWEEP_RETRY = timedelta(minutes=1)
"""After a failed keep-alive extension, wait this long before trying again (not on every call)."""


@dataclass(eq=False)
class _Flight:
    """A change to one scope's token in progress. Callers that arrive meanwhile wait for it, then take its
    token, or share its failure (rather than each repeating a request the API just failed)."""

    needed: frozenset[str]
    done: anyio.Event = field(default_factory=anyio.Event)
    token: str | None = field(default=None, repr=False)
    error: Exception | None = None


class TokenBroker:
    """Hands out tokens to the client (`TokenSource`) and keeps their number of creations low.

    Args:
        api: the token endpoints (`TokenApiClient`).
        settings: policy, daily limit, validity and timeouts.
        store: persisted state shared by the processes of this machine.
        clock: the time source (a `ManualClock` in tests, shared with the sandbox).
        namespace: the key of this tenant's state; see `namespace_for`.
    """

    def __init__(self, api: TokenApi, settings: Settings, *, store: TokenStore, clock: Clock, namespace: str) -> None:
        self._store = store
        self._clock = clock
        self._namespace = namespace
        self._shared = settings.tokens.token_policy == "shared"
        self._limit = settings.tokens.token_daily_limit
        in_flight = settings.requests.connect_timeout + settings.requests.read_timeout + settings.requests.retry_budget
        self._in_flight = timedelta(seconds=in_flight)  # the longest a handed-out token can still be in use
        self._idle_after = timedelta(seconds=max(600.0, 4 * in_flight))  # idle: not handed out for this long
        self.stats = BrokerStats()
        self._renewer = Renewer(api, settings, clock, self.stats, idle_after=self._idle_after)
        self._cache: dict[str, TokenRecord] = {}
        self._checked: dict[str, datetime] = {}
        self._flights: dict[str, _Flight] = {}  # scope key -> the change in progress, if any
        self._sweep_at: datetime | None = None  # when the next kept-alive token reaches its extension point
        self._first_expiry: datetime | None = None  # the earliest expiry among kept-alive tokens
        self._last_call: datetime | None = None
        self._sweep_lock = anyio.Lock()  # one sweep at a time; calls skip it while one runs
        self._sweep_paused_until: datetime | None = None  # after a failed extension, not on every call

    @classmethod
    def for_settings(cls, api: TokenApi, settings: Settings, *, base_url: str,
                     clock: Clock | None = None) -> TokenBroker:
        """A broker keyed by `base_url` and the tenant, on the Redis store when CDP_REDIS_URL is set (replicas on
        several machines), else on the file store in CDP_STATE_DIR (processes on this machine)."""
        tenant = settings.api.tenant_hash.get_secret_value() if settings.api.tenant_hash else SANDBOX_TENANT_HASH
        requests, state = settings.requests, settings.state
        lock_timeout = 2 * (requests.deadline + requests.retry_budget) + 10
        store: TokenStore
        if state.redis_url is not None:
            store = RedisTokenStore(state.redis_url, prefix=state.redis_key_prefix, lock_timeout=lock_timeout,
                                    timeout=requests.connect_timeout)
        else:
            store = FileTokenStore(state.state_dir, lock_timeout=lock_timeout)
        return cls(api, settings, store=store, clock=clock or SystemClock(),
                   namespace=namespace_for(base_url, tenant))

    def __repr__(self) -> str:
        policy = "shared" if self._shared else "least-privilege"
        return f"TokenBroker(policy={policy}, namespace={self._namespace[:8]}…, stats={self.stats})"

    # -- TokenSource ---------------------------------------------------------------------------------------

    async def acquire(self, resources: frozenset[str]) -> str:
        """A live token whose scope is exactly `resources` (under `shared`: the shared token covering them).

        Raises:
            TokenQuotaError: a creation was needed and the daily allowance is spent (`retry_at` says when).
            CdpError: the token API failed (authentication, upstream unavailable...).
        """
        needed = self._validate(resources)
        key = self._key(needed)
        now = self._clock.now()
        gap, self._last_call = (now - self._last_call if self._last_call else timedelta(0)), now
        token = self._from_cache(key, needed)
        while token is None:
            flight = self._flights.get(key)
            if flight is None:
                token = await self._lead(key, needed, gap)
            else:
                await flight.done.wait()
                token = self._joined(flight, key, needed)
        if self._sweep_due(gap):
            await self._sweep_now(gap)
        return token

    async def invalidate(self, resources: frozenset[str], token: str) -> None:
        """A data call got a 401 with `token`: mark it dead so the next `acquire` renews it, once.

        Only the current token of the scope is marked; a token already replaced (or revived by a renewal in
        the last moments, for 401s that were in flight meanwhile) is left alone.
        """
        needed = self._validate(resources)
        key = self._key(needed)
        while (flight := self._flights.get(key)) is not None:  # a renewal in progress may make this report stale
            await flight.done.wait()
        if self._stale_report(key, token):
            return
        async with self._flying(key, needed), self._locked_state() as state:
            record = state.tokens.get(key)
            if record is not None and record.token == token and not record.dead:
                record.dead = True
                logger.info("Token for scope %s was refused (401); it will be renewed", key)

    # -- keeping tokens alive without calls ----------------------------------------------------------------

    def next_extension_at(self) -> datetime | None:
        """When the next token used within KEEP_ALIVE reaches its extension point; None when there is none."""
        if self._sweep_at is None:
            return None
        return max(self._sweep_at, self._sweep_paused_until) if self._sweep_paused_until else self._sweep_at

    async def load(self) -> None:
        """Read the persisted tokens now (a lock-free snapshot), so that a fresh process knows what to keep alive
        before its first call."""
        if not self._cache:
            self._adopt(await self._store.load(self._namespace))

    async def extend_due(self) -> None:
        """Extend now every token used within KEEP_ALIVE that is past its extension point."""
        await self._sweep_now(timedelta(0))

    async def keep_alive(self, *, max_wait: float = 60.0) -> None:
        """Extend tokens on time even when no call comes; runs until cancelled (start it in a task group).

        Optional: without it, extensions ride on calls, and a quiet spell longer than a token's life costs
        one creation per scope when calls resume. Waits at most `max_wait` seconds between looks.
        """
        loaded, failed_loads = False, 0
        while True:
            try:
                if not loaded:
                    await self.load()
                    loaded = True
                due = self.next_extension_at()
                wait = max_wait if due is None else (due - self._clock.now()).total_seconds()
                if wait > 0:
                    await anyio.sleep(min(wait, max_wait))
                    continue
                await self.extend_due()
            except Exception as exc:  # never take the server down: calls report what is wrong with the store
                if loaded:
                    logger.exception("Keep-alive extension crashed; retrying in %s", SWEEP_RETRY)
                    self._note_sweep(1)
                else:
                    logger.log(logging.DEBUG if failed_loads else logging.WARNING,
                               "Keep-alive cannot read the token state yet (%s); retrying", type(exc).__name__)
                    failed_loads += 1
                    await anyio.sleep(max_wait)
                    continue
            await anyio.sleep(KEEP_ALIVE_MIN_GAP)  # never spin, whatever the clock says

    # -- reporting and shutdown ----------------------------------------------------------------------------

    async def creations_needed(self, scopes: Iterable[frozenset[str]]) -> int:
        """How many token creations serving `scopes` would cost now: those with no live token to reuse or extend
        (for cost estimates; a lock-free read of the shared state)."""
        state = await self._store.load(self._namespace)
        now = self._clock.now()
        keys = {self._key(self._validate(scope)) for scope in scopes}
        return sum(1 for key in keys if (record := state.tokens.get(key)) is None or not record.live(now))

    async def allowance(self) -> Allowance:
        """The creation allowance left in the rolling 24-hour window (for `cdp-mcp doctor` and messages)."""
        state = await self._store.load(self._namespace)
        return state.ledger.allowance(self._clock.now(), self._limit)

    async def aclose(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - bounds a shielded save
        """Write back usage times (so other processes see what was in use) and release the store.

        Shielded from cancellation but bounded by `timeout` seconds: a sibling process holding the lock across
        a slow token request must not hold up a shutdown (the usage times are a courtesy, not state).
        """
        try:
            if self._cache:
                with anyio.move_on_after(timeout, shield=True) as scope:
                    async with self._locked_state():
                        pass
                if scope.cancelled_caught:
                    logger.warning("Token usage not saved on shutdown: the token state stayed locked for %s s",
                                   timeout)
        except (OSError, CdpError) as exc:
            logger.warning("Could not save token usage on shutdown (%s)", type(exc).__name__)
        finally:
            await self._store.aclose()

    # -- the in-memory cache -------------------------------------------------------------------------------

    @staticmethod
    def _validate(resources: frozenset[str]) -> frozenset[str]:
        needed = frozenset(resources)
        if not needed:
            raise ValueError("a token needs at least one resource")
        unknown = needed - RESOURCE_NAMES
        if unknown:
            raise ValueError(f"unknown resource(s): {', '.join(sorted(unknown))}")
        return needed

    def _key(self, needed: frozenset[str]) -> str:
        return SHARED_SCOPE_KEY if self._shared else scope_key(needed)

    @asynccontextmanager
    async def _flying(self, key: str, needed: frozenset[str]) -> AsyncIterator[_Flight]:
        """Register the one change of `key` in progress; on exit (even cancelled) release its waiters."""
        flight = self._flights[key] = _Flight(needed)
        try:
            yield flight
        except Exception as exc:
            flight.error = exc
            raise
        finally:
            del self._flights[key]
            flight.done.set()

    async def _lead(self, key: str, needed: frozenset[str], gap: timedelta) -> str:
        """No token at hand and no change in progress: get one (confirm, extend, create...) for every waiter."""
        async with self._flying(key, needed) as flight:
            token = await self._recheck(key, needed)
            if token is None:
                async with self._locked_state() as state:
                    token = await self._renewer.obtain(state, key, needed)
                    self._note_sweep(await self._renewer.sweep(state, served=key, gap=gap))
            flight.token = token
            return token

    def _joined(self, flight: _Flight, key: str, needed: frozenset[str]) -> str | None:
        """After waiting for another caller's change: its token when it covers `needed`, its failure when it
        was after the same resources; None to look again (it was cancelled, or was for other resources)."""
        if flight.error is not None and needed <= flight.needed:
            raise _replay(flight.error)
        now = self._clock.now()
        record = self._cache.get(key)
        if (flight.token is not None and record is not None and record.token == flight.token
                and record.live(now) and needed <= record.resources):
            return self._renewer.use(record, now, reused=True)
        return self._from_cache(key, needed)

    def _from_cache(self, key: str, needed: frozenset[str]) -> str | None:
        now = self._clock.now()
        record = self._cache.get(key)
        checked = self._checked.get(key)
        if record is None or checked is None or now - checked >= RECHECK:
            return None
        if now - record.last_used >= self._idle_after / 2 - RECHECK:
            return None  # idle long enough that another process may re-scope it soon: look at the store first
        if not record.fresh(now) or not needed <= record.resources:
            return None
        return self._renewer.use(record, now, reused=True)

    def _stale_report(self, key: str, token: str) -> bool:
        """A 401 about a token this process already replaced, marked, or just revived."""
        record = self._cache.get(key)
        if record is None:
            return False
        if record.token != token or record.dead:
            return True
        revived = self._renewer.revived.get(key)
        return revived is not None and self._clock.now() - revived < self._in_flight

    async def _recheck(self, key: str, needed: frozenset[str]) -> str | None:
        """The cached token is fine but not checked lately: confirm it with a lock-free read of the store."""
        now = self._clock.now()
        record = self._cache.get(key)
        if record is None or not record.fresh(now) or not needed <= record.resources:
            return None
        stored = (await self._store.load(self._namespace)).tokens.get(key)
        if stored is None or stored.token != record.token or not stored.fresh(now):
            return None  # replaced, re-scoped or marked dead by another process: sort it out under the lock
        if now - stored.last_used >= self._idle_after / 2:
            return None  # time to write our usage back, under the lock
        stored.last_used = max(stored.last_used, record.last_used)
        self._cache[key] = stored
        self._checked[key] = now
        return self._renewer.use(stored, now, reused=True)

    # -- state under the store lock ------------------------------------------------------------------------

    @asynccontextmanager
    async def _locked_state(self) -> AsyncIterator[StoredState]:
        """The latest state of every process, under the lock; saved (and made the cache) on exit, even on errors."""
        async with self._store.locked(self._namespace):
            state = await self._store.load(self._namespace)
            for key, record in state.tokens.items():  # usage noted in memory since the last write
                mine = self._cache.get(key)
                if mine is not None and mine.token == record.token:
                    record.last_used = max(record.last_used, mine.last_used)
            try:
                yield state
            finally:
                with anyio.CancelScope(shield=True):
                    await self._store.save(self._namespace, state)
                self._adopt(state)

    def _adopt(self, state: StoredState) -> None:
        now = self._clock.now()
        self._cache = dict(state.tokens)
        self._checked = dict.fromkeys(state.tokens, now)
        kept = [r for r in state.tokens.values() if self._renewer.kept_alive(r, now)]
        self._sweep_at = min((r.refresh_at for r in kept), default=None)
        self._first_expiry = min((r.expires_at for r in kept), default=None)

    def _sweep_due(self, gap: timedelta) -> bool:
        """A kept-alive token reached its extension point, or may expire before the next call `gap` away."""
        if self._sweep_lock.locked() or self._sweep_at is None or self._first_expiry is None:
            return False
        now = self._clock.now()
        if self._sweep_paused_until is not None and now < self._sweep_paused_until:
            return False
        return now >= self._sweep_at or self._first_expiry - now <= gap

    def _note_sweep(self, failures: int) -> None:
        self._sweep_paused_until = self._clock.now() + SWEEP_RETRY if failures else None

    async def _sweep_now(self, gap: timedelta) -> None:
        """Extend the kept-alive tokens that are due, on the back of a call that already has its token."""
        async with self._sweep_lock:
            try:
                async with self._locked_state() as state:
                    self._note_sweep(await self._renewer.sweep(state, served=None, gap=gap))
            except (CdpError, OSError) as exc:  # the call has its token; the extension is retried a little later
                logger.warning("Extending idle tokens failed (%s)", type(exc).__name__)
                self._note_sweep(1)


def _replay(error: Exception) -> Exception:
    """A copy of a flight's failure for one of its waiters (the same message, hint and `retry_at`), so each
    waiter raises its own exception and tracebacks do not pile up on a shared one."""
    try:
        clone = copy.copy(error)
    except Exception:  # noqa: BLE001 - an exception type that cannot be rebuilt from its args
        return error
    clone.__cause__ = error.__cause__
    return clone
