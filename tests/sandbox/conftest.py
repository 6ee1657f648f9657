"""Fixtures of the sandbox tests: an `Api` over the shared loopback server, reset for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx2
import pytest
from sandbox_http import Api

from cdp_mcp.sandbox.server import SandboxThread


@pytest.fixture
async def api_factory() -> AsyncIterator[Callable[[SandboxThread], Api]]:
    clients: list[httpx2.AsyncClient] = []

    def make(server: SandboxThread) -> Api:
        client = httpx2.AsyncClient(base_url=server.base_url, timeout=30)
        clients.append(client)
        return Api(server, client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def api(sandbox_server: SandboxThread, api_factory: Callable[[SandboxThread], Api]) -> Api:
    """The shared server with its tokens forgotten and its clock back at the start."""
    sandbox_server.reset()
    return api_factory(sandbox_server)


@pytest.fixture
async def token(api: Api) -> str:
    """A token granting every resource."""
    return await api.token()
