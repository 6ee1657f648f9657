"""Client test fixtures: `open_rig` and `rig` (the real client against the sandbox over loopback HTTP, built by
`rig.open_client_rig`), and `answer` (a client whose every data call gets one canned answer, for shapes the
sandbox cannot serve: other tenants' spellings, the vendor's examples).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.settings import Settings
from tests.client.rig import ClientRig, FakeTimer, Fetch, FixedToken, OpenRig, open_client_rig


@pytest.fixture
def open_rig(tmp_path: Path) -> OpenRig:
    """`async with open_rig(server, transport=..., **settings) as rig`: a client on `server` (fresh tokens)."""

    def _open(server: Any, **options: Any) -> AbstractAsyncContextManager[ClientRig]:
        return open_client_rig(server, tmp_path, **options)

    return _open


@pytest.fixture
async def rig(sandbox_server: Any, open_rig: OpenRig) -> AsyncIterator[ClientRig]:
    """A client on the shared sandbox, whose tokens and clock are reset before and after (good neighbours)."""
    sandbox_server.reset()
    async with open_rig(sandbox_server) as opened:
        yield opened
    sandbox_server.reset()


BASE = "https://cdp.example.test/rcdpapi"
WHO = CustomerIdentity(email="someone@example.com")

Answer = tuple[int, Any] | Any


@pytest.fixture
async def answer(tmp_path: Path) -> AsyncIterator[Callable[[Any], Fetch]]:
    """`fetch = answer(body_or_(status, body))`: a client whose every data call gets that answer."""
    settings = Settings(_env_file=None, b2b_api_url=BASE, tenant_hash="t" * 32,  # type: ignore[call-arg]
                        state_dir=tmp_path)
    clients: list[httpx2.AsyncClient] = []

    def make(reply: Answer) -> Fetch:
        status, body = reply if isinstance(reply, tuple) else (200, reply)

        def handle(request: httpx2.Request) -> httpx2.Response:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            return httpx2.Response(status, content=content, headers={"content-type": "application/json"})

        http = make_http_client(settings, base_url=BASE, transport=httpx2.MockTransport(handle))
        clients.append(http)
        client = CdpClient(http, settings, FixedToken(), retry=FakeTimer().policy(max_retries=1))

        async def fetch(name: str, **kwargs: Any) -> Any:
            return await client.fetch(name, kwargs.pop("identity", WHO), **kwargs)

        return fetch

    yield make
    for http in clients:
        await http.aclose()
