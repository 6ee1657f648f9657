"""Routes, header names, query parameters and body keys against a literal table written from the vendor's docs.

The client and the sandbox both read `catalog.py`, so a typo there would pass every other test: here the table is
spelled out again, by hand, from the vendor documentation (`shared/reference/b2b-api.md`), and compared with what
the sandbox serves and with what the client really sends over loopback HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from cdp_mcp.catalog import RESOURCES, resource
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.models import PageRequest
from cdp_mcp.sandbox.server import SandboxThread
from tests.client.rig import Recorder, open_client_rig

pytestmark = pytest.mark.anyio

# --- the vendor's documentation, by hand --------------------------------------------------------------------------
TOKEN_CREATE = "/secureApi/token/profile/create"
TOKEN_UPDATE = "/secureApi/token/profile/update"
PROFILE = {
    "basic": "/api/v1/profile/b2b/basic",
    "segments": "/api/v1/profile/b2b/segments",
    "searchSegments": "/api/v1/profile/b2b/searchSegments",
    "isCustomerInSegment": "/api/v1/profile/b2b/isCustomerInSegment",
    "campaigns": "/api/v1/profile/b2b/campaigns",
    "searchCampaigns": "/api/v1/profile/b2b/searchCampaigns",
    "recommendedProducts": "/api/v1/profile/b2b/recommendedProducts",
    "userActivity": "/api/v1/profile/b2b/userActivity",
    "productPurchaseTrends": "/api/v1/profile/b2b/productPurchaseTrends",
    "productPurchased": "/api/v1/profile/b2b/productPurchased",
    "affinity": "/api/v1/profile/b2b/affinity",
    "userAttributes": "/api/v1/profile/b2b/userAttributes",
    "gcrId": "/api/v1/profile/b2b/gcr",  # served at gcr, not gcrId
    "optIn": "/api/v1/profile/b2b/optIn",
}
QUERY = {"searchSegments": "segmentName", "searchCampaigns": "campaignName", "isCustomerInSegment": "segmentId"}
IDENTIFIER_HEADERS = {"gcrId", "email_address", "mobile_number", "customer_code_external"}
GCR_BODY_KEYS = {"email_address", "mobile_number", "customer_code_external"}
ACCESS_TOKEN, TENANT_HASH, OAUTH_KEY_SECRET = "access_token", "tenant_hash", "oauth_key_secret"
TOKEN_BODY_KEYS = {"resource", "validity"}
UPDATE_BODY_KEYS = {"resource", "validity", "token"}
PAGE_BODIES = {  # the keys of a page request, as each paged resource's example shows them
    "segments": {"lastKey", "pageSize"},
    "searchSegments": {"page", "pageSize"},
    "campaigns": {"page", "pageSize"},
    "searchCampaigns": {"page", "pageSize"},
    "productPurchased": {"lastKey", "page", "pageSize"},
    "affinity": {"pageSize"},
    "userAttributes": {"lastKey", "pageSize"},  # pageSize; the pointer to the last record is lastKey (CONTRACT.md)
}
# ------------------------------------------------------------------------------------------------------------------

SECRET = "0123456789abcdef"


def test_the_sandbox_serves_exactly_the_documented_routes(sandbox_server: SandboxThread) -> None:
    base = sandbox_server.options.context_path
    served = {route.path.removeprefix(base) for route in sandbox_server.sandbox.app.routes
              if "POST" in getattr(route, "methods", set())}
    assert served == {TOKEN_CREATE, TOKEN_UPDATE, *PROFILE.values()}
    assert {r.name for r in RESOURCES} == set(PROFILE)


@pytest.fixture
async def sent(sandbox_server: SandboxThread, tmp_path: Path) -> AsyncIterator[list[httpx2.Request]]:
    """Every request the client sends for one call of each resource (a paged one asking for a page with every key
    its example shows) and one token update, with an OAuth key secret configured: the sandbox tenant has OAuth
    off, so it accepts the secret and ignores it."""
    sandbox_server.reset()
    vip = sandbox_server.sample("vip")
    everyone = CustomerIdentity(gcr_id=vip.gcr_id, email=vip.email, mobile=vip.mobile, customer_code=vip.customer_code)
    recorder = Recorder()
    async with open_client_rig(sandbox_server, tmp_path, transport=recorder, oauth_key_secret=SECRET) as rig:
        pages: dict[str, PageRequest] = {}
        for name, keys in PAGE_BODIES.items():
            key = None
            if "lastKey" in keys:  # a pointer the API gave: the next page after a first page of one
                first = await rig.client.fetch(name, everyone, query="a" if resource(name).query_param else None,
                                               page=PageRequest(page_size=1))
                key = first.page.next.last_key
            pages[name] = PageRequest(last_key=key, page=2 if "page" in keys else None, page_size=1)
        recorder.requests.clear()
        rig.tokens.tokens.clear()  # each resource's token is created again, in the record
        for r in RESOURCES:
            query = {"segmentName": "a", "campaignName": "a", "segmentId": "101"}.get(r.query_param or "")
            await rig.client.fetch(r.name, everyone, query=query, page=pages.get(r.name))
        token = (await rig.api.create_token(frozenset({"basic"}))).token
        await rig.api.update_token(token, frozenset({"basic"}))
    yield recorder.requests
    sandbox_server.reset()


def _path(request: httpx2.Request, server: SandboxThread) -> str:
    return request.url.path.removeprefix(server.options.context_path)


async def test_the_client_sends_the_documented_routes_headers_and_query(sent: list[httpx2.Request],
                                                                        sandbox_server: SandboxThread) -> None:
    profile = {name: [r for r in sent if _path(r, sandbox_server) == path] for name, path in PROFILE.items()}
    assert all(len(requests) == 1 for requests in profile.values()), {k: len(v) for k, v in profile.items()}
    for name, (request,) in profile.items():
        assert request.method == "POST"
        headers = {name.decode() for name, _ in request.headers.raw}  # as spelled on the wire
        assert {ACCESS_TOKEN, TENANT_HASH} | IDENTIFIER_HEADERS <= headers, name
        assert OAUTH_KEY_SECRET not in headers, name  # documented for the token calls only
        assert set(request.url.params) == ({QUERY[name]} if name in QUERY else set()), name
        body: dict[str, Any] | None = httpx2.Response(200, content=request.content).json() if request.content else None
        if name == "gcrId":
            assert body is not None and set(body) == GCR_BODY_KEYS  # the documented body keys; gcrId never in a body
        elif name in PAGE_BODIES:
            assert body is not None and set(body) == PAGE_BODIES[name], name  # the page request, as documented
        else:
            assert body is None, name  # documented without a body


async def test_the_token_calls_send_the_documented_paths_headers_and_bodies(sent: list[httpx2.Request],
                                                                            sandbox_server: SandboxThread) -> None:
    creates = [r for r in sent if _path(r, sandbox_server) == TOKEN_CREATE]
    updates = [r for r in sent if _path(r, sandbox_server) == TOKEN_UPDATE]
    assert len(creates) == len(PROFILE) + 1 and len(updates) == 1
    for request, keys in [*((c, TOKEN_BODY_KEYS) for c in creates), (updates[0], UPDATE_BODY_KEYS)]:
        assert request.method == "POST" and request.headers[TENANT_HASH] == sandbox_server.tenant_hash
        assert request.headers[OAUTH_KEY_SECRET] == SECRET and ACCESS_TOKEN not in request.headers
        body = httpx2.Response(200, content=request.content).json()
        assert set(body) == keys and isinstance(body["resource"], list)


def test_the_catalog_agrees_with_the_table() -> None:
    """The same facts as the tests above, read from the catalog (the one place the code spells them)."""
    assert {r.name: r.route for r in RESOURCES} == PROFILE
    assert {r.name: r.query_param for r in RESOURCES if r.query_param} == QUERY
    assert resource("gcrId").identity_in_body
