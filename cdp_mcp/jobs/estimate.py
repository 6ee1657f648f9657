"""The cost of a screening before it runs: upstream requests, expected time, token creations.

Each row costs three requests (membership, consent, profile) and, when it names the customer by anything but
gcr_id, a fourth to learn the gcr_id (unless the caller may not read gcrId; one the session knows is free, so
this is an upper bound). The
time is those requests at the pace the last screening kept (wall time per request and request slot, remembered
by the store for every replica), or at the API's latency seen here when that is slower now (the pacer's moving
average), else at an assumed 150 ms, CDP_SCREEN_CONCURRENCY at a time. Token creations are the scopes with
no live token to reuse: at most one per scope, whatever the audience size, since the broker extends tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cdp_mcp.catalog import Scope
from cdp_mcp.jobs.model import Checks, Job, Member, ResultPart
from cdp_mcp.settings.groups import ScreeningConfig

if TYPE_CHECKING:
    from cdp_mcp.backend import Backend

__all__ = ["ASSUMED_MS", "REQUESTS_PER_ROW", "Estimate", "estimate", "poll_seconds", "scopes_for", "spoken"]

ASSUMED_MS = 150.0
"""Milliseconds per request assumed before any latency was seen."""

REQUESTS_PER_ROW = 3
"""Membership, consent and profile: the requests every row costs (a gcr lookup may add a fourth)."""

_DEFAULT_CONCURRENCY: int = ScreeningConfig.model_fields["screen_concurrency"].default


class Estimate(ResultPart):
    """What a screening will cost: requests to the Customer Profile API, seconds, token creations (of the tenant's
    daily allowance)."""

    requests: int
    seconds: int
    token_creations: int


def scopes_for(checks: Checks, *, lookups: bool) -> list[frozenset[str]]:
    """The token scopes a screening uses (one token each under the least-privilege policy)."""
    membership = Scope.IS_CUSTOMER_IN_SEGMENT if checks.segment_id is not None else Scope.SEARCH_SEGMENTS
    names: list[str] = [membership, Scope.OPT_IN, Scope.BASIC, *([Scope.GCR_ID] if lookups else [])]
    return [frozenset({name}) for name in names]


async def estimate(backend: Backend, members: Sequence[Member], checks: Checks, *, gcr_lookups: bool,
                   ms_per_request: float | None, concurrency: int) -> Estimate:
    """The estimate for screening `members` (see the module docstring); `gcr_lookups`: whether the caller may
    look up a gcr_id (else rows without one are screened by their other identifiers alone)."""
    lookups = sum(1 for m in members if m.gcr_id is None) if gcr_lookups else 0
    requests = REQUESTS_PER_ROW * len(members) + lookups
    creations = await backend.broker.creations_needed(scopes_for(checks, lookups=lookups > 0))
    ms = ms_per_request if ms_per_request is not None else ASSUMED_MS
    return Estimate(requests=requests, seconds=math.ceil(requests * ms / max(1, concurrency) / 1000),
                    token_creations=creations)


def poll_seconds(job: Job, *, longest: float) -> float:
    """How long a client should wait before asking again: about a tenth of the time the job has left (at the pace
    it keeps, request slots as CDP_SCREEN_CONCURRENCY's default), at least 2 seconds and at most `longest`."""
    left = (job.total - job.done_rows) * REQUESTS_PER_ROW * (job.ms_per_request or ASSUMED_MS) / 1000
    return max(2.0, min(longest, left / _DEFAULT_CONCURRENCY / 10))


def _duration(seconds: int) -> str:
    """A duration in round words, stable when the latency moves a little: `under a minute`, `about 5 minutes`."""
    if seconds < 60:
        return "under a minute"
    minutes = seconds / 60
    steps = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1080, 1440)
    rounded = next((s for s in steps if minutes <= s * 1.25), math.ceil(minutes / 60) * 60)
    if rounded >= 90:
        return f"about {rounded / 60:g} hours"
    return f"about {rounded} minute{'s' if rounded != 1 else ''}"


def spoken(rows: int, cost: Estimate) -> str:
    """The estimate as a person reads it before saying yes."""
    creations = ("no new token" if cost.token_creations == 0 else
                 f"{cost.token_creations} token creation{'s' if cost.token_creations != 1 else ''} of the daily "
                 "allowance")
    return (f"Screening {rows:,} customers takes about {cost.requests:,} requests to the Customer Profile API, "
            f"{_duration(cost.seconds)}, and {creations}.")
