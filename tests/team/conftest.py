"""Fixtures for team deployment: a loopback authorization server, and cdp-mcp served over HTTP with sign-in on.

The clean environment, the shared small embedded sandbox and the sample customers are the CLI tests' own
fixtures (tests/commands/conftest.py), reused here.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from cdp_mcp.http_app import create_http_app
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.commands.conftest import (
    _isolated,
    cdp_env,
    environment,
    sandbox_settings,
    shared_state_dir,
    showcase,
)
from tests.helpers import served_on
from tests.team.authserver import AuthServer

__all__ = ["Served", "_isolated", "auth_server", "cdp_env", "oauth_app", "sandbox_settings", "shared_app",
           "shared_state_dir", "showcase"]


@pytest.fixture
def auth_server() -> Iterator[AuthServer]:
    server = AuthServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def shared_app(shared_state_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """One signed-in server for a module's tests that change nothing (refusals, metadata, tool lists)."""
    server = AuthServer().start()
    try:
        with pytest.MonkeyPatch.context() as env:
            for key in [k for k in os.environ if k.startswith("CDP_")]:
                env.delenv(key)
            for key, value in environment(shared_state_dir).items():
                env.setenv(key, value)
            async with oauth_app(server, tmp_path_factory.mktemp("audit") / "audit.jsonl") as app:
                yield app
    finally:
        server.stop()


@dataclass
class Served:
    """cdp-mcp over HTTP with sign-in: its base URL, settings, audit file and the authorization server."""

    base: str
    settings: Settings
    audit: Path
    idp: AuthServer

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"

    @asynccontextmanager
    async def client(self, token: str | None, **kwargs: Any) -> AsyncIterator[Client]:
        """The official SDK client over Streamable HTTP, sending `token` as the bearer on every request."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
                Client(streamable_http_client(self.mcp, http_client=http), **kwargs) as client:
            yield client

    async def post(self, headers: dict[str, str] | None = None) -> httpx2.Response:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        base = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
        async with httpx2.AsyncClient() as http:
            return await http.post(self.mcp, json=body, headers=base | (headers or {}))

    def audit_lines(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines()]


@asynccontextmanager
async def oauth_app(idp: AuthServer, audit: Path, **options: Any) -> AsyncIterator[Served]:
    """Serve cdp-mcp on a free loopback port with CDP_MCP_PUBLIC_URL naming that port and sign-in at `idp`.

    The rest of the configuration comes from the environment (the `cdp_env` fixture), as at a real start-up;
    `settings={...}` adds to it, other keyword arguments go to `create_http_app`.
    """
    sock = bind_socket("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings.load(**{"mcp_oauth_issuer": idp.issuer, "mcp_public_url": base, "audit_log": str(audit),
                                **options.pop("settings", {})})
    idp.audience = idp.audience or f"{base}/mcp"
    async with served_on(create_http_app(build_server(settings), settings, **options), sock):
        yield Served(base, settings, audit, idp)
