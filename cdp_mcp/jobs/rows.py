"""Screening one audience row: the checks of `tools.screening.check`, one outcome, and what failed.

The outcome is the first check the customer fails, in the order a planner filters: found at all, in the segment,
contactable on the channel, bought within `recent_days`; else eligible. A row whose facts could not all be
fetched is an error (a customer the identifiers do not match is `not_found`). The errors stay attached, so the
job can tell a failure worth waiting out (a throttled or unavailable API) from one a person must fix (the token
quota spent, the tenant credentials refused).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cdp_mcp.errors import (
    AuthenticationError,
    CallTimeoutError,
    CdpError,
    CustomerNotFoundError,
    RateLimitedError,
    ScreeningStateError,
    TokenQuotaError,
    TokenRejectedError,
    UpstreamUnavailableError,
)
from cdp_mcp.jobs.model import Checks, Member, Outcome, ScreenedRow
from cdp_mcp.tools.screening import Facts, Given, NameSearch, check

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend

__all__ = ["PASSING", "STOPPING", "Screened", "outcome_of", "screen_member"]

PASSING: tuple[type[CdpError], ...] = (RateLimitedError, UpstreamUnavailableError, CallTimeoutError,
                                       ScreeningStateError)
"""Failures that pass by themselves: the row is screened again after a pause."""
STOPPING: tuple[type[CdpError], ...] = (TokenQuotaError, AuthenticationError, TokenRejectedError)
"""Failures no row can get past until a person acts: the job stops (and can be resumed)."""


@dataclass(slots=True)
class Screened:
    """One row's result, and the failures behind it (empty when every fact was fetched)."""

    row: ScreenedRow
    errors: list[CdpError] = field(default_factory=list)

    def first(self, kinds: tuple[type[CdpError], ...]) -> CdpError | None:
        return next((e for e in self.errors if isinstance(e, kinds)), None)


def outcome_of(facts: Facts, recent_days: int | None) -> Outcome:
    if facts.errors:
        return "not_found" if any(isinstance(e, CustomerNotFoundError) for e in facts.errors) else "error"
    if not facts.in_segment:
        return "not_in_segment"
    if not facts.contactable:
        return "not_contactable"
    days = facts.days_since_last_purchase
    if recent_days is not None and (days is None or days > recent_days):
        return "lapsed"
    return "eligible"


async def screen_member(backend: Backend, member: Member, checks: Checks, *, search: NameSearch | None,
                        limiter: AbstractAsyncContextManager[Any] | None) -> Screened:
    """Screen one row. Each of its requests is bounded by the client's request deadline (CDP_CONNECT_TIMEOUT +
    CDP_READ_TIMEOUT, retries within CDP_RETRY_BUDGET), so no row can hold its chunk for longer."""
    facts = await check(backend, member.identity(), segment_id=checks.segment_id, search=search,
                        channel=checks.channel, limiter=limiter)
    outcome = outcome_of(facts, checks.recent_days)
    found = outcome != "not_found"
    given = member.given()
    row = ScreenedRow(line=member.line, customer=None if given == Given(gcr_id=facts.gcr_id) else given,
                      gcr_id=facts.gcr_id, name=facts.name, outcome=outcome,
                      in_segment=facts.in_segment if found else None, contactable=facts.contactable if found else None,
                      days_since_last_purchase=facts.days_since_last_purchase,
                      error=facts.errors[0].message if facts.errors else None)
    return Screened(row, facts.errors)
