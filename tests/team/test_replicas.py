"""Two replicas behind a (notional) load balancer, sign-in on, sharing one real redis-server: requests alternate
between them, tokens are created once per scope, the rate limit is one limit, and both keep an audit trail."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from cdp_mcp.backend import open_backend
from cdp_mcp.clock import SystemClock
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.settings import Settings
from tests.broker.test_redis_store import RedisServer, redis_server
from tests.helpers import free_port
from tests.team.authserver import AuthServer
from tests.team.replicas import replica_env, running_replicas

__all__ = ["redis_server"]

pytestmark = pytest.mark.anyio

RATE_LIMIT = 8


@pytest.fixture
def api(tmp_path: Path) -> Iterator[SandboxThread]:
    """The B2B API both replicas call (a sandbox on loopback), on the real clock as the replicas are."""
    server = SandboxThread(SandboxOptions(customers=50, db_path=tmp_path / "api.sqlite3"), clock=SystemClock())
    with server:
        yield server


async def test_two_replicas_share_tokens_the_rate_limit_and_each_audit(
    redis_server: RedisServer, api: SandboxThread, auth_server: AuthServer, tmp_path: Path,
) -> None:
    public = f"http://127.0.0.1:{free_port()}"  # what the load balancer would answer at
    auth_server.audience = f"{public}/mcp"
    env = replica_env(api_url=api.base_url, tenant_hash=api.tenant_hash, redis_url=redis_server.url,
                      prefix=f"replicas-{secrets.token_hex(4)}", issuer=auth_server.issuer, public_url=public,
                      CDP_MCP_RATE_LIMIT=str(RATE_LIMIT))
    customer = api.sample("vip")
    who = {"gcr_id": customer.gcr_id}
    calls = [("get_customer_profile", who), ("get_marketing_consent", who), ("list_customer_segments", who),
             ("get_customer_profile", who)]
    with running_replicas(2, env, tmp_path) as (first, second):
        token = auth_server.token("cdp:read", sub="ops@corp.example")
        outcomes = []
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http, \
                Client(streamable_http_client(first.mcp, http_client=http)) as one, \
                Client(streamable_http_client(second.mcp, http_client=http)) as two:
            for index in range(RATE_LIMIT + 1):  # alternate: one, two, one, two...
                name, arguments = calls[index % len(calls)]
                result = await (one if index % 2 == 0 else two).call_tool(name, arguments)
                outcomes.append(not result.is_error)
        # A list's next page from the other replica: the cursor is sealed with the key the replicas share.
        pager = auth_server.token("cdp:read", sub="pager@corp.example")
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {pager}"}, timeout=30) as http, \
                Client(streamable_http_client(first.mcp, http_client=http)) as one, \
                Client(streamable_http_client(second.mcp, http_client=http)) as two:
            page = await one.call_tool("list_customer_segments", {**who, "limit": 1})
            cursor = (page.structured_content or {})["next_cursor"]
            following = await two.call_tool("list_customer_segments", {**who, "limit": 1, "cursor": cursor})
        counts = await api.sandbox.token_counts()
        lines = {r.port: [json.loads(x) for x in r.audit.read_text().splitlines()] for r in (first, second)}
    assert outcomes == [True] * RATE_LIMIT + [False]  # one limit across both, not one each
    assert not following.is_error and following.structured_content != page.structured_content
    assert counts["created_today"] == 3  # basic, optIn, segments: once each, whichever replica asked first
    assert len(lines[first.port]) == 6 and len(lines[second.port]) == 5
    every = lines[first.port] + lines[second.port]
    assert {line["principal"] for line in every} == {"ops@corp.example", "pager@corp.example"}
    assert sorted(line["outcome"] for line in every) == ["CALL_RATE_LIMITED"] + ["ok"] * (RATE_LIMIT + 2)


async def test_replicas_without_one_cursor_key_are_warned_at_start(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    redis = f"redis://127.0.0.1:{free_port()}/0"  # never reached: opening the backend connects to nothing
    for cursor_key, warned in ((None, True), ("replicas-share-this-cursor-key", False)):
        caplog.clear()
        settings = Settings(state_dir=tmp_path, sandbox_customers=MIN_CUSTOMERS, redis_url=redis,
                            mcp_cursor_key=cursor_key)
        async with open_backend(settings, keep_alive=False):
            pass
        assert any("CDP_MCP_CURSOR_KEY" in r.getMessage() and r.levelname == "WARNING"
                   for r in caplog.records) == warned
