"""How the broker gets a token for a scope, cheapest first, on a state it holds under the store lock.

Reuse a fresh token; else extend it with update (free); else, for a dead token, create one (spends the daily
allowance). Near the allowance's end, re-scope an idle token of another scope with update instead of
creating; at the end, refuse with the moment creation becomes possible again. A creation that failed after
reaching the API (`OutcomeUnknownError`) is counted in the ledger as spent and not repeated within the call:
the next call reads the shared state again (another process may have stored a token for the scope) before
creating. One answered with success but without a token that can be read (`TokenUnreadableError`) is counted
too, and stops creation for its scope for `UNREADABLE_STOP` (persisted, so restarts and siblings keep to it;
another cdp-mcp version, which may read the answer, tries again). A token is due for extension at 80% of its
lifetime, or earlier when it would expire before its next use if uses keep coming as far apart as the last two.
Tokens used within `KEEP_ALIVE` are extended when due even while their own scope is quiet (riding on other
calls), since a token that dies while idle costs a creation later.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import anyio

from cdp_mcp.broker.ledger import near_limit, warn_level
from cdp_mcp.broker.state import SHARED_SCOPE_KEY, CreationStop, StoredState, TokenRecord, record_from_issued
from cdp_mcp.client.protocols import IssuedToken, TokenApi
from cdp_mcp.clock import Clock
from cdp_mcp.errors import CdpError, OutcomeUnknownError, TokenExpiredError, TokenQuotaError, TokenUnreadableError
from cdp_mcp.settings import Settings
from cdp_mcp.version import __version__

__all__ = ["API_BLOCK", "KEEP_ALIVE", "MIN_LEARNED_VALIDITY", "UNREADABLE_STOP", "BrokerStats", "Renewer"]

logger = logging.getLogger(__name__)

API_BLOCK = timedelta(minutes=15)
"""How long to stop creating after the API refused a creation without saying until when."""
KEEP_ALIVE = timedelta(hours=4)
"""Tokens used within this horizon are extended when due, riding on any call: an update is free."""
UNREADABLE_STOP = timedelta(hours=24)
"""How long creation for a scope stops after a successful creation whose token could not be read: the answer's
shape will not change by asking again, and each try spends one of the day's creations."""
MIN_LEARNED_VALIDITY = 60
"""Seconds: a token revoked moments after its creation must not make every later token look that short-lived."""


@dataclass(slots=True)
class BrokerStats:
    """What the broker did since it started (this process only)."""

    created: int = 0  # new tokens created (each one spends the daily allowance)
    updated: int = 0  # extensions and shared-scope growth with update: free
    rescoped: int = 0  # idle tokens of another scope re-scoped with update near the limit, instead of a creation
    reused: int = 0  # calls served with a token already held
    renewed_after_401: int = 0  # renewals of a token a data call found dead (by update when possible, else create)
    refused: int = 0  # creations refused: the daily allowance was spent
    unconfirmed: int = 0  # creations that failed after reaching the API: counted as spent, never repeated at once

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _unreadable(resources: frozenset[str], until: datetime) -> TokenUnreadableError:
    scope = ", ".join(sorted(resources))
    return TokenUnreadableError(
        f"The API answered a token creation for {scope} with success, but cdp-mcp could not read the token in its "
        f"answer. Token creation for {scope} is stopped until {until:%Y-%m-%d %H:%M} UTC, so that the tenant's daily "
        "allowance is not spent on answers that cannot be read.", retry_at=until)


class Renewer:
    """Obtains, extends and re-scopes tokens; every method expects the store lock to be held."""

    def __init__(self, api: TokenApi, settings: Settings, clock: Clock, stats: BrokerStats, *,
                 idle_after: timedelta) -> None:
        self._api = api
        self._clock = clock
        self._stats = stats
        self._shared = settings.tokens.token_policy == "shared"
        self._limit = settings.tokens.token_daily_limit
        self._fallback_validity = settings.tokens.validity_seconds
        self._idle_after = idle_after
        self._refusal_logged: datetime | None = None
        self.revived: dict[str, datetime] = {}  # key -> when a dead token came back by update, same string

    def use(self, record: TokenRecord, now: datetime, *, reused: bool = False) -> str:
        """Hand the token out, noting the use (which keeps it from being re-scoped or left to die)."""
        record.last_used = max(record.last_used, now)
        if reused:
            self._stats.reused += 1
        return record.token

    async def obtain(self, state: StoredState, key: str, needed: frozenset[str]) -> str:
        """A token for `key` covering `needed`: reuse, else update, else create (or re-scope, or refuse)."""
        now = self._clock.now()
        record = state.tokens.get(key)
        if record is None:
            return await self._create(state, key, needed, renewal=False)
        if record.fresh(now) and needed <= record.resources:
            return self.use(record, now, reused=True)  # extended or created meanwhile by another process
        target = record.resources | needed if self._shared else needed
        if not record.surely_dead(now):
            renewed = await self._update(state, key, record, target)
            if renewed is not None:
                return renewed
        del state.tokens[key]
        return await self._create(state, key, target, renewal=record.dead)

    def kept_alive(self, record: TokenRecord, now: datetime) -> bool:
        """Worth extending while idle: live and used within KEEP_ALIVE."""
        return record.live(now) and now - record.last_used <= KEEP_ALIVE

    async def sweep(self, state: StoredState, *, served: str | None, gap: timedelta) -> int:
        """Extend, concurrently, every kept-alive token that is due, given calls come about `gap` apart.

        Returns how many extensions failed for another reason than a dead token (to be retried later).
        """
        now = self._clock.now()
        due = [(key, record) for key, record in state.tokens.items()
               if key != served and self.kept_alive(record, now) and record.due(now, gap)]
        failures: list[str] = []

        async def extend(key: str, record: TokenRecord) -> None:
            try:
                issued = await self._api.update_token(record.token, record.resources)
            except TokenExpiredError:
                del state.tokens[key]  # dead already: its next call creates without trying update first
                self._learn(state, record, now)
                return
            except CdpError as exc:
                logger.debug("Keep-alive extension of scope %s failed (%s)", key, exc.code)
                failures.append(key)
                return
            fresh = self._record(state, issued, now, record.resources)
            fresh.last_used = record.last_used  # an extension is not a use: idleness still counts from the call
            state.tokens[key] = fresh
            self._stats.updated += 1

        async with anyio.create_task_group() as tg:
            for key, record in due:
                tg.start_soon(extend, key, record)
        return len(failures)

    async def _update(self, state: StoredState, key: str, record: TokenRecord, target: frozenset[str]) -> str | None:
        """Extend (or grow) the token with update. None when the server says it is dead."""
        started = self._clock.now()
        try:
            issued = await self._api.update_token(record.token, target)
        except TokenExpiredError:
            logger.info("Token for scope %s is dead on the server; creating a new one", key)
            self._learn(state, record, started)
            return None
        except CdpError as exc:
            if record.live(started) and record.resources >= target:
                logger.warning("Extending the token for scope %s failed (%s); it stays in use until it expires",
                               key, exc.code)
                return self.use(record, started, reused=True)
            raise
        fresh = self._record(state, issued, started, target)
        if record.dead:
            self._stats.renewed_after_401 += 1
            if fresh.token == record.token:
                self.revived[key] = started
        else:
            self._stats.updated += 1
        logger.debug("Token for scope %s extended until %s", key, fresh.expires_at.isoformat())
        state.tokens[key] = fresh
        return self.use(fresh, started)

    async def _create(self, state: StoredState, key: str, resources: frozenset[str], *, renewal: bool) -> str:
        now = self._clock.now()
        stop = state.stopped.get(key)
        if stop is not None and stop.applies(now, __version__):
            raise _unreadable(resources, stop.until)
        state.stopped.pop(key, None)
        ledger = state.ledger
        used = ledger.used(now)
        blocked = ledger.blocked(now)
        if not self._shared and (blocked or used >= near_limit(self._limit)):
            token = await self._rescope_idle(state, key, resources)
            if token is not None:
                return token
        if blocked or used >= self._limit:
            raise self._refusal(resources, used, ledger.retry_at(now, self._limit), by_api=blocked)
        try:
            with anyio.CancelScope(shield=True):  # a creation the server made is spent: keep it, even if cancelled
                issued = await self._api.create_token(resources)
        except TokenQuotaError as exc:
            ledger.block(exc.retry_at or now + API_BLOCK)
            raise self._refusal(resources, used, ledger.blocked_until, by_api=True) from exc
        except TokenUnreadableError:
            ledger.record(now)  # made and counted, most likely: only its token could not be read
            self._stats.unconfirmed += 1
            stop = state.stopped[key] = CreationStop(until=now + UNREADABLE_STOP, version=__version__)
            logger.warning("Token creation for scope %s stopped until %s: its answer could not be read", key,
                           stop.until.isoformat())
            raise _unreadable(resources, stop.until) from None
        except OutcomeUnknownError:
            ledger.record(now)  # the server may have made (and counted) it: the allowance says so too
            self._stats.unconfirmed += 1
            logger.warning("A token creation for scope %s failed after reaching the API; counted as spent, not "
                           "repeated", key)
            raise
        ledger.record(now)
        self._stats.created += 1
        if renewal:
            self._stats.renewed_after_401 += 1
        used += 1
        if used >= warn_level(self._limit):
            logger.warning("%d of %d daily token creations used in the last 24 hours", used, self._limit)
        record = self._record(state, issued, now, resources)
        logger.debug("Token created for scope %s, valid until %s", key, record.expires_at.isoformat())
        state.tokens[key] = record
        return self.use(record, now)

    def _refusal(self, resources: frozenset[str], used: int, retry_at: datetime | None, *,
                 by_api: bool) -> TokenQuotaError:
        """Count and log a refused creation (one warning per refusal period) and build its error."""
        self._stats.refused += 1
        if retry_at != self._refusal_logged:
            self._refusal_logged = retry_at
            logger.warning("Token creation refused until %s: %s", retry_at.isoformat() if retry_at else "unknown",
                           "the API says the tenant's allowance is spent" if by_api
                           else f"{used} of {self._limit} daily creations used in the last 24 hours")
        scope = ", ".join(sorted(resources))
        if by_api:
            return TokenQuotaError(f"The API refused to create a token for {scope}: the tenant's daily "
                                   "allowance of token creations is spent.", retry_at=retry_at)
        return TokenQuotaError(f"No token can be created for {scope}: {used} of the {self._limit} token "
                               "creations allowed a day were made in the last 24 hours.", retry_at=retry_at)

    async def _rescope_idle(self, state: StoredState, key: str, resources: frozenset[str]) -> str | None:
        """Near the limit: give the least recently used idle token the new scope instead of creating one."""
        now = self._clock.now()
        idle = sorted(
            ((k, r) for k, r in state.tokens.items()
             if k not in (key, SHARED_SCOPE_KEY) and r.live(now) and now - r.last_used >= self._idle_after),
            key=lambda item: item[1].last_used,
        )
        for old_key, record in idle[:3]:
            try:
                issued = await self._api.update_token(record.token, resources)
            except TokenExpiredError:
                del state.tokens[old_key]
                self._learn(state, record, now)
                continue
            del state.tokens[old_key]
            self._stats.rescoped += 1
            logger.info("Re-scoped the idle token of scope %s to %s to spare a creation", old_key, key)
            fresh = self._record(state, issued, now, resources)
            state.tokens[key] = fresh
            return self.use(fresh, now)
        return None

    def _validity(self, state: StoredState) -> int:
        """Seconds a token is assumed to live when the server does not say: configured, or learned shorter."""
        return min(self._fallback_validity, state.learned_validity or self._fallback_validity)

    def _learn(self, state: StoredState, record: TokenRecord, now: datetime) -> None:
        """The server says `record` is dead at `now`, sooner than a computed expiry said: assume that life from
        now on, for every token of the namespace (a stated expiry is the server's word: nothing to learn)."""
        if record.hard_expiry is not None:
            return
        lived = max(MIN_LEARNED_VALIDITY, int((now - record.refreshed_at).total_seconds()))
        assumed = self._validity(state)
        if lived >= assumed:
            return
        state.learned_validity = lived
        logger.warning("A token died after %d s, sooner than the %d s assumed (is CDP_TOKEN_VALIDITY_UNIT right?); "
                       "assuming %d s from now on", lived, assumed, lived)
        for other in state.tokens.values():
            other.cap_lifetime(lived)

    def _record(self, state: StoredState, issued: IssuedToken, started: datetime,
                asked: frozenset[str]) -> TokenRecord:
        record = record_from_issued(issued, started=started, fallback_seconds=self._validity(state))
        if not record.resources:
            record.resources = asked  # the response did not echo the resource set
        return record
