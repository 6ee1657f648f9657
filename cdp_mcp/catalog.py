"""The resource catalog: the one place that spells a path, scope, header, query parameter or paging key.

The client, the token broker, the MCP tools, the sandbox and the docs all derive from these records, so
a resource is described exactly once. A test scans the source tree for stray path literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "DEFAULT_CONTEXT_PATH",
    "GDPR_PREFIX",
    "IDENTIFIERS",
    "PROFILE_PREFIX",
    "RESOURCES",
    "RESOURCE_NAMES",
    "TOKEN_CREATE_PATH",
    "TOKEN_UPDATE_PATH",
    "Envelope",
    "Header",
    "Identifier",
    "PagingKey",
    "Paging",
    "Resource",
    "TokenKey",
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


class Envelope(StrEnum):
    """The response envelope kinds."""

    STANDARD = "standard"  # {"status": "OK", "message": "", "data": {...}}
    GCR_LIST = "gcr_list"  # {"status": "OK", "data": [{...}]} (no message)
    BARE_ARRAY = "bare_array"  # [...] (no envelope at all)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A customer identifier: its request header and the tool argument that carries it."""

    header: str
    argument: str
    description: str
    example: str


IDENTIFIERS: tuple[Identifier, ...] = (
    Identifier("gcrId", "gcr_id", "Golden Customer Record id (the cheapest, unambiguous identifier)", "1"),
    Identifier("email_address", "email", "email address", "a@a.com"),
    Identifier("mobile_number", "mobile", "mobile number, digits with an optional leading +", "1212121212"),
    Identifier("customer_code_external", "customer_code", "the tenant's own customer code", "123456"),
)


@dataclass(frozen=True, slots=True)
class Resource:
    """One profile resource of the B2B API. `name` is also the token scope that grants it."""

    name: str
    path: str
    purpose: str
    query_param: str | None = None
    paging: Paging = Paging.NONE
    envelope: Envelope = Envelope.STANDARD
    identity_in_body: bool = False  # gcr sends the identifiers in the JSON body instead of headers

    @property
    def route(self) -> str:
        """The path relative to the base URL (context path included in the base)."""
        return PROFILE_PREFIX + self.path


RESOURCES: tuple[Resource, ...] = (
    Resource("basic", "basic", "the customer's profile card: name, tier, location, sales figures"),
    Resource("segments", "segments", "segments the customer belongs to", paging=Paging.LAST_KEY),
    Resource(
        "searchSegments", "searchSegments", "the customer's segments whose name matches a text",
        query_param="segmentName", paging=Paging.PAGE,
    ),
    Resource(
        "isCustomerInSegment", "isCustomerInSegment", "whether the customer is in one segment",
        query_param="segmentId",
    ),
    Resource("campaigns", "campaigns", "campaigns the customer was targeted by", paging=Paging.PAGE),
    Resource(
        "searchCampaigns", "searchCampaigns", "the customer's campaigns whose name matches a text",
        query_param="campaignName", paging=Paging.PAGE,
    ),
    Resource("recommendedProducts", "recommendedProducts", "products recommended for the customer"),
    Resource("userActivity", "userActivity", "recent web, app and store activity by day"),
    Resource("productPurchaseTrends", "productPurchaseTrends", "orders and order value per month, last 3 months"),
    Resource("productPurchased", "productPurchased", "products the customer bought", paging=Paging.LAST_KEY),
    Resource("affinity", "affinity", "affinity scores by category, brand and channel", paging=Paging.PAGE_SIZE),
    Resource("userAttributes", "userAttributes", "the tenant's custom attributes of the customer",
             paging=Paging.PAGE_SIZE),
    Resource("gcrId", "gcr", "resolve identifiers to the Golden Customer Record id",
             envelope=Envelope.GCR_LIST, identity_in_body=True),
    Resource("optIn", "optIn", "marketing consent per channel", envelope=Envelope.BARE_ARRAY),
)

RESOURCE_NAMES: frozenset[str] = frozenset(r.name for r in RESOURCES)
_BY_NAME: dict[str, Resource] = {r.name: r for r in RESOURCES}


def resource(name: str) -> Resource:
    """Look a resource up by scope name; raises KeyError naming the valid ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown resource {name!r}; known: {', '.join(r.name for r in RESOURCES)}") from None
