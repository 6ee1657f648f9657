"""No secret (tenant hash, OAuth key secret, access token) in logs, exception messages, reprs or URLs.

A whole session against a sandbox whose credentials are "hunter2"-style strings: every resource, a token
renewal, retries, refusals. Then every captured DEBUG record (httpx2, httpcore2, cdp_mcp) and every error
and repr is searched for the secrets and for every token the sandbox issued.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2
import pytest

from cdp_mcp.catalog import RESOURCES, resource
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.errors import AmbiguousCustomerError, AuthenticationError, CdpError, UpstreamUnavailableError
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from tests.client.rig import OpenRig
from tests.faults import Fault, FaultInjector

pytestmark = pytest.mark.anyio

TENANT = "hunter2" * 4 + "tnt1"
OAUTH = "hunter2hunter2ab"
QUERIES = {"searchSegments": "a", "searchCampaigns": "a", "isCustomerInSegment": "101"}


async def test_secrets_never_leave(start_sandbox_server: Any, open_rig: OpenRig,
                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx2", "httpcore2", "cdp_mcp"):
        caplog.set_level(logging.DEBUG, logger=name)
    server = start_sandbox_server(tenant_hash=TENANT, oauth_key_secret=OAUTH, customers=MIN_CUSTOMERS)
    errors: list[CdpError] = []
    tokens: set[str] = set()
    urls: list[str] = []

    async def remember(request: httpx2.Request) -> None:
        urls.append(str(request.url))

    async with open_rig(server, tenant_hash=TENANT, oauth_key_secret=OAUTH) as rig:
        rig.http.event_hooks["request"].append(remember)
        who = CustomerIdentity(gcr_id=server.sample("vip").gcr_id)
        for spec in RESOURCES:
            await rig.client.fetch(spec, who, query=QUERIES.get(spec.name))
        tokens |= set(rig.tokens.tokens.values())
        server.clock.advance(seconds=rig.settings.tokens.validity_seconds + 1)  # every token dies: renew on 401
        await rig.client.fetch("basic", who)
        tokens |= set(rig.tokens.tokens.values())
        shared = server.sample("household_1").email
        with pytest.raises(AmbiguousCustomerError) as ambiguous:
            await rig.client.fetch("segments", CustomerIdentity(email=shared))
        errors.append(ambiguous.value)
        issued = await rig.api.create_token(frozenset({"optIn"}))
        tokens.add(issued.token)
        reprs = [repr(rig.client), repr(rig.api), repr(rig.http), repr(issued), repr(rig.settings), str(rig.settings)]
    async with open_rig(server, tenant_hash=TENANT, oauth_key_secret="hunter2wrong0000") as wrong:
        with pytest.raises(AuthenticationError) as refused:
            await wrong.api.create_token(frozenset({"basic"}))
        errors.append(refused.value)
    faulty = FaultInjector(server.sandbox.app)
    faulty.fail(resource("basic").route, Fault(status=503, times=10))
    async with open_rig(server, tenant_hash=TENANT, oauth_key_secret=OAUTH, max_retries=2,
                        transport=httpx2.ASGITransport(app=faulty)) as flaky:
        with pytest.raises(UpstreamUnavailableError) as down:
            await flaky.client.fetch("basic", who)
        errors.append(down.value)
        tokens |= set(flaky.tokens.tokens.values())

    assert len(tokens) >= 15 and caplog.records and urls
    records = [r for r in caplog.records if r.name.startswith(("httpx2", "httpcore2", "cdp_mcp.client"))]
    assert {r.name.split(".")[0] for r in records} >= {"httpx2", "httpcore2", "cdp_mcp"}
    texts = [caplog.text, *urls, *reprs]
    texts += [t for e in errors for t in (str(e), repr(e), e.for_model(), e.hint)]
    secrets = {TENANT, OAUTH, "hunter2", *tokens}
    leaks = [(secret[:6], text[:80]) for secret in secrets for text in texts if secret in text]
    assert leaks == []
    assert shared not in errors[0].for_model()  # identifiers' values are personal data: named, not repeated
