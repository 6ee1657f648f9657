"""Token creations left today is the tenant's figure, not a replica's: two `cdp-mcp serve --transport http` processes
on one real redis-server report the same allowance, which the creations made through either one spend."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from cdp_mcp.clock import SystemClock
from cdp_mcp.http_app import METRICS_PATH
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.server import SandboxThread
from tests.broker.test_redis_store import RedisServer, redis_server
from tests.operations.service import clean_environment, samples
from tests.team.replicas import Replica, running_replicas

__all__ = ["redis_server"]

pytestmark = pytest.mark.anyio

TOKEN = secrets.token_urlsafe(24)
LIMIT = 40


@pytest.fixture
def api(tmp_path: Path) -> Iterator[SandboxThread]:
    """The B2B API both replicas call (a sandbox on loopback, on the real clock as the replicas are)."""
    with SandboxThread(SandboxOptions(customers=50, db_path=tmp_path / "api.sqlite3", token_daily_limit=LIMIT),
                       clock=SystemClock()) as server:
        yield server


async def allowance(replica: Replica) -> tuple[float, float]:
    """The allowance a scrape of `replica` shows, once its backend is open (a second after start, or the first
    call: until then the figure is left out, never shown as a made-up 0)."""
    left, limit = ("cdp_mcp_token_creations_left", frozenset()), ("cdp_mcp_token_creations_limit", frozenset())
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        with anyio.fail_after(30):
            while left not in (found := samples((await http.get(f"http://127.0.0.1:{replica.port}{METRICS_PATH}")).text)):
                await anyio.sleep(0.1)
    return found[left], found[limit]


async def test_replicas_report_the_allowance_they_share(redis_server: RedisServer, api: SandboxThread,
                                                        tmp_path: Path) -> None:
    env = clean_environment(CDP_B2B_API_URL=api.base_url, CDP_TENANT_HASH=api.tenant_hash,
                            CDP_REDIS_URL=redis_server.url, CDP_REDIS_KEY_PREFIX=f"allowance-{secrets.token_hex(4)}",
                            CDP_TOKEN_DAILY_LIMIT=str(LIMIT), CDP_MCP_METRICS_TOKEN=TOKEN, CDP_LOG_LEVEL="WARNING")
    customer = {"gcr_id": api.sample("vip").gcr_id}
    with running_replicas(2, env, tmp_path) as (first, second):
        async with Client(first.mcp) as client:  # three scopes: three creations, all through the first replica
            for tool in ("get_customer_profile", "get_marketing_consent", "list_customer_segments"):
                assert not (await client.call_tool(tool, customer)).is_error
        created = (await api.sandbox.token_counts())["created_today"]
        assert created == 3
        assert await allowance(first) == await allowance(second) == (LIMIT - created, LIMIT)
