"""Streamable HTTP on a loopback port with uvicorn: both eras, /healthz, the bearer token, Origin checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from cdp_mcp.cli import main
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.http_app import create_http_app
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.helpers import served_on

pytestmark = pytest.mark.anyio

TOKEN = "s3cr3t-token-for-tests-0123456789"
INITIALIZE: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                         "clientInfo": {"name": "test", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


@asynccontextmanager
async def serving(settings: Settings, *, host: str = "127.0.0.1", **options: Any) -> AsyncIterator[str]:
    """The HTTP app for `settings` (built as if bound to `host`), served on a free 127.0.0.1 port."""
    app = create_http_app(build_server(settings), settings, host=host, **options)
    sock = bind_socket("127.0.0.1", 0)
    async with served_on(app, sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def _post(base: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{base}/mcp", json=INITIALIZE, headers=HEADERS | (headers or {}))


async def test_loopback_serves_both_eras_and_a_health_check(sandbox_settings: Settings,
                                                            showcase: SampleCustomer) -> None:
    async with serving(sandbox_settings) as base:
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"{base}/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok" and health.json()["backend"] == "embedded-sandbox"
        for mode in ("auto", "legacy"):
            async with Client(f"{base}/mcp", mode=mode) as client:
                assert len((await client.list_tools()).tools) == 16
                result = await client.call_tool("get_customer_profile", {"email": showcase.email})
            assert not result.is_error and result.structured_content["gcr_id"] == showcase.gcr_id  # type: ignore[index]


async def test_bearer_token_is_required_when_set(sandbox_settings: Settings, showcase: SampleCustomer) -> None:
    settings = sandbox_settings.replace(mcp_auth_token=SecretStr(TOKEN))
    async with serving(settings) as base:
        missing = await _post(base)
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await _post(base, {"Authorization": f"Bearer {TOKEN[:-1]}x"})
        assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"{base}/healthz")  # open, and tells nothing secret
        assert health.status_code == 200 and TOKEN not in health.text
        authorized = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})
        async with authorized, Client(streamable_http_client(f"{base}/mcp", http_client=authorized)) as client:
            result = await client.call_tool("resolve_customer", {"email": showcase.email})
        assert not result.is_error and result.structured_content["gcr_id"] == showcase.gcr_id  # type: ignore[index]


async def test_foreign_origins_and_hosts_are_refused_on_loopback(sandbox_settings: Settings) -> None:
    async with serving(sandbox_settings, allowed_origins=["https://console.example.com"]) as base:
        assert (await _post(base, {"Origin": "https://evil.example"})).status_code == 403
        assert (await _post(base, {"Origin": "http://localhost.evil.example:80"})).status_code == 403
        assert (await _post(base, {"Origin": "http://localhost:5173"})).status_code == 200  # a local inspector
        assert (await _post(base, {"Origin": "https://console.example.com"})).status_code == 200
        assert (await _post(base, {"Host": "rebound.example:80"})).status_code == 421  # DNS rebinding


def test_off_loopback_refuses_to_start_without_a_strong_token(sandbox_settings: Settings,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigurationError, match="CDP_MCP_AUTH_TOKEN"):
        create_http_app(build_server(sandbox_settings), sandbox_settings, host="0.0.0.0")
    weak = sandbox_settings.replace(mcp_auth_token=SecretStr("short"))
    with pytest.raises(ConfigurationError, match="too short"):
        create_http_app(build_server(weak), weak, host="0.0.0.0")
    assert main(["serve", "--transport", "http", "--host", "0.0.0.0"]) == 2
    assert "CDP_MCP_AUTH_TOKEN" in capsys.readouterr().err


async def test_off_loopback_needs_the_token_and_accepts_no_browser_origin_by_default(
    sandbox_settings: Settings,
) -> None:
    settings = sandbox_settings.replace(mcp_auth_token=SecretStr(TOKEN))
    async with serving(settings, host="0.0.0.0") as base:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await _post(base)).status_code == 401
        assert (await _post(base, bearer | {"Host": "cdp.internal.example:8000"})).status_code == 200
        assert (await _post(base, bearer | {"Origin": "http://localhost:5173"})).status_code == 403
