"""Screening one audience row: the facts a `CheckCustomer` fetches, one outcome, and what failed.

The outcome is the first check the customer fails, in the order a planner filters: found at all, in the segment,
contactable on the channel, bought within `recent_days`; else eligible. A row whose facts could not all be
fetched is an error (a customer the identifiers do not match is `not_found`). The errors stay attached, so the
job can tell a failure worth waiting out (a throttled or unavailable API) from one a person must fix (the token
quota spent, the tenant credentials refused).

How one customer is checked (which API resources, fetched how) is the tools' business (`tools.screening.check`,
shared with screen_customers): the engine is handed it, so it never imports the tools above it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cdp_mcp.client.resources.segments import Segment
from cdp_mcp.errors import (
    AuthenticationError,
    CallTimeoutError,
    CdpError,
    CustomerNotFoundError,
    InvalidInputError,
    RateLimitedError,
    ScreeningStateError,
    TokenQuotaError,
    TokenRejectedError,
    UpstreamUnavailableError,
)
from cdp_mcp.jobs.model import Checks, Given, Member, Outcome, ScreenedRow

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend
    from cdp_mcp.client.identity import CustomerIdentity

__all__ = ["PASSING", "STOPPING", "CheckCustomer", "Facts", "NameSearch", "Screened", "outcome_of", "screen_member"]

PASSING: tuple[type[CdpError], ...] = (RateLimitedError, UpstreamUnavailableError, CallTimeoutError,
                                       ScreeningStateError)
"""Failures that pass by themselves: the row is screened again after a pause."""
STOPPING: tuple[type[CdpError], ...] = (TokenQuotaError, AuthenticationError, TokenRejectedError)
"""Failures no row can get past until a person acts: the job stops (and can be resumed)."""


@dataclass
class NameSearch:
    """What searching the customers' segments for `segment_name` found: whether any carries exactly that name (and
    that segment, as the API spells it), how many customers were searched, and the names that contain it (to
    suggest when none is exact)."""

    name: str
    searched: int = 0
    exact: Segment | None = None
    similar: set[str] = field(default_factory=set)

    def note(self, segments: Sequence[Segment]) -> bool:
        """Record one customer's matching segments; whether one has exactly the name (case-insensitively)."""
        self.searched += 1
        hit = next((s for s in segments if (s.name or "").strip().casefold() == self.name.casefold()), None)
        self.exact = self.exact or hit
        self.similar.update(s.name.strip() for s in segments if s.name and s.name.strip())
        return hit is not None

    def not_found(self) -> InvalidInputError | None:
        """The error to answer when the customers searched carry no segment of that name (None: one does)."""
        if self.exact or not self.searched:
            return None
        similar = sorted(self.similar, key=str.casefold)[:5]
        close = f" Segments whose name contains it: {', '.join(similar)}." if similar else ""
        return InvalidInputError(
            f"No segment named {self.name!r} was found among the segments of the {self.searched} customer(s) "
            f"screened: either no segment has that name or none of them is in it.{close}",
            hint="Check the exact name with search_customer_segments on a customer you expect in it, or pass "
                 "segment_id.")


@dataclass(slots=True)
class Facts:
    """What checking one customer found; `errors` are the fetches that failed (the first explains the row)."""

    gcr_id: int | None
    name: str | None = None
    in_segment: bool | None = None
    contactable: bool | None = None
    days_since_last_purchase: int | None = None
    errors: list[CdpError] = field(default_factory=list)


class CheckCustomer(Protocol):
    """Fetch one customer's membership (by id, or by name through `search`), consent on `channel` and recency,
    with at most `limiter`'s requests in flight; failures are kept in `Facts.errors`, never raised."""

    def __call__(self, backend: Backend, identity: CustomerIdentity, *, segment_id: str | None,
                 search: NameSearch | None, channel: str,
                 limiter: AbstractAsyncContextManager[Any] | None) -> Awaitable[Facts]: ...


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


async def screen_member(check: CheckCustomer, backend: Backend, member: Member, checks: Checks, *,
                        search: NameSearch | None, limiter: AbstractAsyncContextManager[Any] | None) -> Screened:
    """Screen one row with `check`. Each of its requests is bounded by the client's request deadline
    (CDP_CONNECT_TIMEOUT + CDP_READ_TIMEOUT, retries within CDP_RETRY_BUDGET), so no row can hold its chunk for
    longer."""
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
