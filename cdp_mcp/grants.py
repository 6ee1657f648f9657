"""Grants by scope: which API resources each OAuth scope of a signed-in person reaches, declared once.

Each narrow scope grants one area of customer data (`catalog.Area`: each resource names its area in the catalog,
so a new resource is granted without a line here). Everything else (the scopes a tool needs, the
`scopes_supported` of the protected resource metadata, the scope an error asks for, the docs' scopes table)
is derived from `GRANTS`. `cdp:read` reaches every resource of the four narrow scopes; `cdp:pii` reaches no
resource but lets results show contact details unredacted.

Identity providers differ in how scopes are named, so the names hosts see are `CDP_MCP_SCOPE_PREFIX` followed
by the scope's own name (`advertised`: `cdp:read` by default, `cdp.read` where `:` is refused,
`api://<app>/cdp.read` for Entra ID), while a token may carry any of `{prefix}read`, `cdp.read` and `cdp:read`
(Entra puts `cdp.read` in `scp` for a scope requested as `api://<app>/cdp.read`): `normalise_scopes` reads them
all as `cdp:read`, the name everything inside the server uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from cdp_mcp.catalog import RESOURCE_NAMES, RESOURCES, Area

__all__ = [
    "BROAD_SCOPE",
    "GRANTS",
    "PII_SCOPE",
    "SCOPES_SUPPORTED",
    "SCOPE_PREFIX",
    "Grant",
    "advertised",
    "granted_resources",
    "normalise_scopes",
    "scopes_for",
]


@dataclass(frozen=True, slots=True)
class Grant:
    """One OAuth scope: the resources it reaches and what it is for (the docs' scopes table says it)."""

    scope: str
    resources: frozenset[str]
    purpose: str


SCOPE_PREFIX = "cdp:"
"""How the scopes are named inside the server, and by default to hosts (CDP_MCP_SCOPE_PREFIX)."""


def _area(area: Area, purpose: str) -> Grant:
    """The narrow scope `cdp:<area>`: every catalog resource of that area."""
    return Grant(f"{SCOPE_PREFIX}{area}", frozenset(r.name for r in RESOURCES if r.area is area), purpose)


_NARROW: tuple[Grant, ...] = (
    _area(Area.PROFILE, "who the customer is: profile card, gcr_id lookup, custom attributes"),
    _area(Area.CONSENT, "marketing consent per channel"),
    _area(Area.COMMERCE, "purchases, trends, recommendations, affinities, activity"),
    _area(Area.MARKETING, "segments and campaigns"),
)
BROAD_SCOPE = "cdp:read"
PII_SCOPE = "cdp:pii"

GRANTS: tuple[Grant, ...] = (
    *_NARROW,
    Grant(BROAD_SCOPE, frozenset().union(*(g.resources for g in _NARROW)), "everything the four scopes above reach"),
    Grant(PII_SCOPE, frozenset(), "contact details unredacted: email, mobile, address, exact birth date"),
)
SCOPES_SUPPORTED: tuple[str, ...] = tuple(g.scope for g in GRANTS)
_BY_SCOPE = {g.scope: g for g in GRANTS}
assert _BY_SCOPE[BROAD_SCOPE].resources == RESOURCE_NAMES, "every resource must be reachable by some scope"
assert [g.scope for g in _NARROW] == [f"{SCOPE_PREFIX}{area}" for area in Area], "every area has its scope"


def advertised(scope: str, prefix: str = SCOPE_PREFIX) -> str:
    """The name hosts see and ask the issuer for: `cdp:read` under CDP_MCP_SCOPE_PREFIX (`cdp.read`, ...)."""
    return prefix + scope.removeprefix(SCOPE_PREFIX)


def normalise_scopes(scopes: Iterable[str], prefix: str = SCOPE_PREFIX) -> frozenset[str]:
    """The token's scopes in our spelling: `{prefix}read`, `cdp.read` and `cdp:read` are `cdp:read` (others stay)."""
    spellings = dict.fromkeys((SCOPE_PREFIX, "cdp.", prefix))
    found = set()
    for scope in scopes:
        ours = next((name for p in spellings if scope.startswith(p)
                     and (name := SCOPE_PREFIX + scope[len(p):]) in _BY_SCOPE), scope)
        found.add(ours)
    return frozenset(found)


@lru_cache(maxsize=256)
def granted_resources(scopes: frozenset[str]) -> frozenset[str]:
    """The API resources a set of (normalised) scopes reaches."""
    return frozenset().union(*(_BY_SCOPE[s].resources for s in scopes if s in _BY_SCOPE))


def scopes_for(resources: Iterable[str]) -> tuple[str, ...]:
    """The narrow scopes that together reach `resources`, in table order (what an error asks for)."""
    needed = set(resources)
    return tuple(g.scope for g in _NARROW if g.resources & needed)
