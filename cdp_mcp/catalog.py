"""The resource catalog: the one place that spells a path, scope, header, query parameter or paging key.

The client, the token broker, the MCP tools, the sandbox and the docs all derive from these records, so
a resource is described exactly once. A test scans the source tree for stray path literals.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

__all__ = [
    "DEFAULT_CONTEXT_PATH",
    "GDPR_PREFIX",
    "IDENTIFIERS",
    "PROFILE_PREFIX",
    "RESOURCES",
    "RESOURCE_NAMES",
    "TOKEN_CREATE_PATH",
    "TOKEN_UPDATE_PATH",
    "Area",
    "Envelope",
    "Header",
    "Identifier",
    "Paging",
    "PagingKey",
    "Resource",
    "Scope",
    "TokenKey",
    "declared_in",
    "resource",
]

DEFAULT_CONTEXT_PATH = "/rcdpapi"
"""The context path the vendor's example base URL carries (`api-dev.example.com/rcdpapi`)."""

PROFILE_PREFIX = "/api/v1/profile/b2b/"
"""Every profile resource is served below this prefix (relative to the base URL)."""

TOKEN_CREATE_PATH = "/secureApi/token/profile/create"
TOKEN_UPDATE_PATH = "/secureApi/token/profile/update"
GDPR_PREFIX = "/api/v1/gdpr/b2b/"
"""Documented for completeness; the GDPR API is a separate token scope and not served by the tools."""


class Header(StrEnum):
    """Credential headers. The names contain underscores, which some proxies drop by default."""

    ACCESS_TOKEN = "access_token"
    TENANT_HASH = "tenant_hash"
    OAUTH_KEY_SECRET = "oauth_key_secret"


class TokenKey(StrEnum):
    """Keys of the token create/update request bodies."""

    RESOURCE = "resource"
    RESOURCES_ALIAS = "resources"  # the docs also show this spelling; the sandbox accepts both
    VALIDITY = "validity"
    TOKEN = "token"


class PagingKey(StrEnum):
    """Keys of the optional paging request body."""

    PAGE = "page"
    PAGE_SIZE = "pageSize"
    LAST_KEY = "lastKey"


class Paging(StrEnum):
    """The three paging styles the API mixes, plus none."""

    NONE = "none"
    PAGE = "page"  # {"page": 1, "pageSize": 20}
    LAST_KEY = "lastKey"  # {"lastKey": {...}, "pageSize": 100}; the next lastKey comes from the previous response
    PAGE_SIZE = "pageSize"  # {"pageSize": 1} only
    POINTER = "pointer"  # {"pageSize": 100, "lastKey": {...}}: a pointer to the last record, no page numbers


class Envelope(StrEnum):
    """The response envelope kinds."""

    STANDARD = "standard"  # {"status": "OK", "message": "", "data": {...}}
    GCR_LIST = "gcr_list"  # {"status": "OK", "data": [{...}]} (no message)
    BARE_ARRAY = "bare_array"  # [...] (no envelope at all)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A customer identifier: its request header (also its gcr body key) and the tool argument that carries it."""

    header: str
    argument: str
    description: str
    example: str
    in_gcr_body: bool = True  # the gcr lookup documents it as a JSON body key too (gcrId never is)


IDENTIFIERS: tuple[Identifier, ...] = (
    Identifier("gcrId", "gcr_id", "Golden Customer Record id (the cheapest, unambiguous identifier)", "1",
               in_gcr_body=False),
    Identifier("email_address", "email", "email address", "a@a.com"),
    Identifier("mobile_number", "mobile", "mobile number, digits with an optional leading +", "1212121212"),
    Identifier("customer_code_external", "customer_code", "the tenant's own customer code", "123456"),
)


class Scope(StrEnum):
    """The resource names (token scopes) as constants, for code that must name one resource: import, never spell."""

    BASIC = "basic"
    SEGMENTS = "segments"
    SEARCH_SEGMENTS = "searchSegments"
    IS_CUSTOMER_IN_SEGMENT = "isCustomerInSegment"
    CAMPAIGNS = "campaigns"
    SEARCH_CAMPAIGNS = "searchCampaigns"
    RECOMMENDED_PRODUCTS = "recommendedProducts"
    USER_ACTIVITY = "userActivity"
    PRODUCT_PURCHASE_TRENDS = "productPurchaseTrends"
    PRODUCT_PURCHASED = "productPurchased"
    AFFINITY = "affinity"
    USER_ATTRIBUTES = "userAttributes"
    GCR_ID = "gcrId"
    OPT_IN = "optIn"


class Area(StrEnum):
    """The area of customer data a resource belongs to; a signed-in person's grants go by area (`grants.py`)."""

    PROFILE = "profile"  # who the customer is
    CONSENT = "consent"  # whether they may be contacted
    COMMERCE = "commerce"  # what they buy and like
    MARKETING = "marketing"  # the segments and campaigns that reach them


@dataclass(frozen=True, slots=True)
class Resource:
    """One profile resource of the B2B API. `name` is also the token scope that grants it."""

    name: Scope
    purpose: str
    area: Area
    path: str = ""  # defaults to the resource name; only gcrId differs (served at `gcr`)
    query_param: str | None = None
    paging: Paging = Paging.NONE
    envelope: Envelope = Envelope.STANDARD
    identity_in_body: bool = False  # gcr also sends the identifiers in the JSON body (besides the headers)

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", str(self.name))

    @property
    def route(self) -> str:
        """The path relative to the base URL (context path included in the base)."""
        return PROFILE_PREFIX + self.path


RESOURCES: tuple[Resource, ...] = (
    Resource(Scope.BASIC, "the customer's profile card: name, tier, location, sales figures", Area.PROFILE),
    Resource(Scope.SEGMENTS, "segments the customer belongs to", Area.MARKETING, paging=Paging.LAST_KEY),
    Resource(
        Scope.SEARCH_SEGMENTS, "the customer's segments whose name matches a text", Area.MARKETING,
        query_param="segmentName", paging=Paging.PAGE,
    ),
    Resource(
        Scope.IS_CUSTOMER_IN_SEGMENT, "whether the customer is in one segment", Area.MARKETING,
        query_param="segmentId",
    ),
    Resource(Scope.CAMPAIGNS, "campaigns the customer was targeted by", Area.MARKETING, paging=Paging.PAGE),
    Resource(
        Scope.SEARCH_CAMPAIGNS, "the customer's campaigns whose name matches a text", Area.MARKETING,
        query_param="campaignName", paging=Paging.PAGE,
    ),
    Resource(Scope.RECOMMENDED_PRODUCTS, "products recommended for the customer", Area.COMMERCE),
    Resource(Scope.USER_ACTIVITY, "recent web, app and store activity by day", Area.COMMERCE),
    Resource(Scope.PRODUCT_PURCHASE_TRENDS, "orders and order value per month, last 3 months", Area.COMMERCE),
    Resource(Scope.PRODUCT_PURCHASED, "products the customer bought", Area.COMMERCE, paging=Paging.LAST_KEY),
    Resource(Scope.AFFINITY, "affinity scores by category, brand and channel", Area.COMMERCE,
             paging=Paging.PAGE_SIZE),
    Resource(Scope.USER_ATTRIBUTES, "the tenant's custom attributes of the customer", Area.PROFILE,
             paging=Paging.POINTER),
    Resource(Scope.GCR_ID, "resolve identifiers to the Golden Customer Record id", Area.PROFILE, path="gcr",
             envelope=Envelope.GCR_LIST, identity_in_body=True),
    Resource(Scope.OPT_IN, "marketing consent per channel", Area.CONSENT, envelope=Envelope.BARE_ARRAY),
)


RESOURCE_NAMES: frozenset[str] = frozenset(r.name for r in RESOURCES)
_BY_NAME: dict[str, Resource] = {r.name: r for r in RESOURCES}


def resource(name: str) -> Resource:
    """Look a resource up by scope name; raises KeyError naming the valid ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown resource {name!r}; known: {', '.join(r.name for r in RESOURCES)}") from None


Declaration = TypeVar("Declaration")


def declared_in(package: str, kind: type[Declaration], scopes_of: Callable[[Declaration], Iterable[str]], *,
                needed: Callable[[Resource], bool] = lambda r: True) -> dict[str, Declaration]:
    """Each resource's declaration of `kind` in a layer, found in the modules of `package`, in catalog order.

    A layer keeps one module per resource (or family of resources) in its `resources` package; this imports
    them all and collects the module-level values of `kind`, each for the resource names `scopes_of` gives, so
    a new resource is added by adding its module, and nothing else in the layer lists it.

    Raises:
        ImportError: a resource `needed` in this layer has no declaration, or two, or one names no resource.
    """
    home = importlib.import_module(package)
    found: dict[str, list[Declaration]] = {}
    for module in pkgutil.iter_modules(home.__path__):
        values = vars(importlib.import_module(f"{package}.{module.name}")).values()
        for value in {id(v): v for v in values if isinstance(v, kind)}.values():
            for name in scopes_of(value):
                found.setdefault(name, [])
                if not any(v is value for v in found[name]):
                    found[name].append(value)
    problems = [f"{name} is declared {len(values)} times" for name, values in found.items() if len(values) > 1]
    problems += [f"{name} is not a catalog resource" for name in found if name not in _BY_NAME]
    problems += [f"{r.name} has none" for r in RESOURCES if needed(r) and r.name not in found]
    if problems:
        raise ImportError(f"{package}: one {kind.__name__} per resource: {'; '.join(problems)}.")
    return {r.name: found[r.name][0] for r in RESOURCES if r.name in found}
