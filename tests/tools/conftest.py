"""Fixtures for the MCP tools: a cdp-mcp server whose backend talks to the loopback sandbox, and an SDK client.

One state directory serves the whole session, so the broker's persisted tokens are reused from test to test
instead of spending the sandbox tenant's daily creations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from tool_results import Connect

from cdp_mcp.backend import open_backend
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings


@pytest.fixture(scope="session")
def tools_state_dir(sandbox_server: SandboxThread, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sandbox_server.reset()  # start from an unspent daily allowance, whatever ran before
    return tmp_path_factory.mktemp("cdp-mcp-state")


@pytest.fixture
def settings_for(sandbox_server: SandboxThread, tools_state_dir: Path) -> Callable[..., Settings]:
    """Settings pointing at the loopback sandbox: `settings_for(redact_pii=True, tools=[...])`."""

    def make(server: SandboxThread | None = None, **overrides: Any) -> Settings:
        target = server or sandbox_server
        values: dict[str, Any] = {"b2b_api_url": target.base_url, "tenant_hash": target.tenant_hash,
                                  "state_dir": tools_state_dir, "max_retries": 0}
        return Settings(**(values | overrides))

    return make


@pytest.fixture
def connect(settings_for: Callable[..., Settings], sandbox_server: SandboxThread) -> Connect:
    """`async with connect(**settings) as client`: build_server on the loopback sandbox, SDK client in process
    (`mode` the protocol era, `client` more options of the SDK client, such as an elicitation callback)."""

    @asynccontextmanager
    async def open_client(settings: Settings | None = None, *, transport: httpx2.AsyncBaseTransport | None = None,
                          server: SandboxThread | None = None, mode: str = "auto",
                          client: dict[str, Any] | None = None, **overrides: Any) -> AsyncIterator[Client]:
        target = server or sandbox_server
        chosen = settings or settings_for(target, **overrides)
        mcp = build_server(chosen, backend=lambda: open_backend(chosen, clock=target.clock, transport=transport))
        async with Client(mcp, mode=mode, **(client or {})) as opened:  # type: ignore[arg-type]
            yield opened

    return open_client


@pytest.fixture
async def client(connect: Connect) -> AsyncIterator[Client]:
    async with connect() as c:
        yield c
