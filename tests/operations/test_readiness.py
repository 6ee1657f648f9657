"""/readyz says whether this replica can serve calls now, naming what is wrong; /healthz only that it is alive.

Each dependency is taken down for real and brought back: a redis-server stopped and started on its port, the
issuer's key endpoint failing, the audit file's path turned into a directory."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from cdp_mcp.http_app import HEALTH_PATH, READY_PATH, create_http_app
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.helpers import RedisProcess, served_on
from tests.team.authserver import AuthServer

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def probing(settings: Settings, sock: Any = None) -> AsyncIterator[httpx2.AsyncClient]:
    """The HTTP app served on loopback, and a client whose base URL is it."""
    sock = sock or bind_socket("127.0.0.1", 0)
    async with served_on(create_http_app(build_server(settings), settings), sock), \
            httpx2.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=10) as http:
        yield http


async def readiness(http: httpx2.AsyncClient) -> tuple[int, dict[str, str]]:
    response = await http.get(READY_PATH)
    assert (await http.get(HEALTH_PATH)).status_code == 200  # alive, whatever the dependencies do
    body = response.json()
    assert body["status"] == ("ready" if response.status_code == 200 else "not ready")
    return response.status_code, body["checks"]


async def until_ready(http: httpx2.AsyncClient, within: float = 20) -> dict[str, str]:
    """Poll /readyz until it passes (a check that failed is retried after a few seconds, not at every probe)."""
    deadline = time.monotonic() + within
    while True:
        status, checks = await readiness(http)
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, checks
            return checks
        await anyio.sleep(0.5)


async def test_ready_with_only_the_checks_that_apply(sandbox_settings: Settings, tmp_path: Path) -> None:
    async with probing(sandbox_settings) as http:
        assert await readiness(http) == (200, {"draining": "ok"})
    async with probing(sandbox_settings.replace(audit_log=str(tmp_path / "audit.jsonl"))) as http:
        assert await readiness(http) == (200, {"draining": "ok", "audit": "ok"})


@pytest.mark.skipif(RedisProcess.binary() is None, reason="redis-server is not on PATH (apt-get install redis-server)")
async def test_redis_down_makes_it_unready_and_back_up_ready(sandbox_settings: Settings, tmp_path: Path) -> None:
    redis = RedisProcess(tmp_path)  # its port and password chosen, not started yet: Redis is down
    async with probing(sandbox_settings.replace(redis_url=redis.url)) as http:
        status, checks = await readiness(http)
        assert status == 503 and checks["redis"] == "Redis does not answer (ConnectionError)"
        assert redis.password not in str(checks)
        redis.start()
        try:
            assert (await readiness(http)) == (200, {"draining": "ok", "redis": "ok"})
        finally:
            redis.stop()
        status, checks = await readiness(http)
        assert status == 503 and checks["redis"].startswith("Redis does not answer")


async def test_an_issuer_whose_keys_cannot_be_had_makes_it_unready(sandbox_settings: Settings,
                                                                   auth_server: AuthServer) -> None:
    sock = bind_socket("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    auth_server.jwks_down = True
    settings = sandbox_settings.replace(mcp_oauth_issuer=auth_server.issuer, mcp_public_url=base, audit_log="off")
    async with probing(settings, sock) as http:
        status, checks = await readiness(http)
        assert status == 503
        assert checks["issuer"] == f"The issuer's signing keys cannot be fetched ({auth_server.issuer}/jwks answered " \
                                   "HTTP 503)"
        auth_server.jwks_down = False
        assert (await until_ready(http))["issuer"] == "ok"
        auth_server.jwks_down = True  # keys loaded: cached keys keep serving through an outage, so still ready
        assert (await readiness(http))[0] == 200


async def test_an_audit_trail_that_cannot_be_written_makes_it_unready(sandbox_settings: Settings,
                                                                       tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    async with probing(sandbox_settings.replace(audit_log=str(audit))) as http:
        assert (await readiness(http))[0] == 200
        audit.unlink()
        audit.mkdir()  # the path is a directory now: no line could be appended there
        status, checks = await readiness(http)
        assert status == 503 and checks["audit"] == "EISDIR" and str(tmp_path) not in str(checks)
        shutil.rmtree(audit)
        assert await readiness(http) == (200, {"draining": "ok", "audit": "ok"})
