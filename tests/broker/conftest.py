"""A broker rig on the real client and the sandbox over loopback HTTP, sharing the sandbox's ManualClock."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from cdp_mcp.broker import FileTokenStore, TokenBroker, TokenStore, namespace_for
from cdp_mcp.broker.state import StoredState
from cdp_mcp.catalog import RESOURCES, TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, resource
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.protocols import TokenApi
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.settings import Settings

__all__ = ["Rig", "another_broker", "fetch", "sandbox_counts", "stored_state"]


@dataclass
class Rig:
    """One "server process": settings, pooled HTTP client, token API, broker and data client."""

    settings: Settings
    http: httpx2.AsyncClient
    api: TokenApiClient
    broker: TokenBroker
    client: CdpClient
    requests: Counter[tuple[str, int]]  # (create | update | resource name, HTTP status) -> count

    def sent(self, what: str, status: int | None = None) -> int:
        return sum(n for (name, code), n in self.requests.items() if name == what and status in (None, code))


def _label(path: str) -> str:
    """`create`, `update`, or the name of the resource a data call asked for."""
    if path.endswith(TOKEN_CREATE_PATH):
        return "create"
    if path.endswith(TOKEN_UPDATE_PATH):
        return "update"
    return next((r.name for r in RESOURCES if path.endswith(r.route)), path)


async def sandbox_counts(server: Any) -> dict[str, int]:
    """The sandbox's own count of today's token creations and updates."""
    return await server.sandbox.token_counts()


async def stored_state(rig: Rig, server: Any) -> StoredState:
    """What the rig's broker persisted, read as a sibling process would."""
    return await FileTokenStore(rig.settings.state.state_dir).load(namespace_for(server.base_url, server.tenant_hash))


def another_broker(rig: Rig, server: Any, *, api: TokenApi | None = None, lock_timeout: float = 120.0,
                   store: TokenStore | None = None) -> TokenBroker:
    """A second broker in the rig's process and state dir, on another token API seam, lock timeout or store."""
    store = store or FileTokenStore(rig.settings.state.state_dir, lock_timeout=lock_timeout)
    return TokenBroker(api or rig.api, rig.settings, store=store, clock=server.clock,
                       namespace=namespace_for(server.base_url, server.tenant_hash))


async def fetch(rig: Rig, name: str, server: Any) -> Any:
    """One data call for a well-known customer through the real client."""
    sample = server.samples[0]
    return await rig.client.fetch(resource(name), CustomerIdentity(gcr_id=sample.gcr_id))


OpenRig = Callable[..., AbstractAsyncContextManager[Rig]]


@pytest.fixture
def open_rig(tmp_path: Path) -> OpenRig:
    """Open a rig on `server`; same `state_dir` across rigs models restarts and sibling processes."""

    @asynccontextmanager
    async def _open(server: Any, *, state_dir: Path | None = None, **overrides: Any) -> AsyncIterator[Rig]:
        settings = Settings(_env_file=None, b2b_api_url=server.base_url,  # type: ignore[call-arg]
                            tenant_hash=server.tenant_hash, state_dir=state_dir or tmp_path / "state", **overrides)
        requests: Counter[tuple[str, int]] = Counter()

        async def count(response: httpx2.Response) -> None:
            requests[(_label(response.request.url.path), response.status_code)] += 1

        async with make_http_client(settings, base_url=server.base_url) as http:
            http.event_hooks["response"].append(count)
            api = TokenApiClient(http, settings, clock=server.clock)
            broker = TokenBroker(api, settings, store=FileTokenStore(settings.state.state_dir), clock=server.clock,
                                 namespace=namespace_for(server.base_url, server.tenant_hash))
            client = CdpClient(http, settings, broker)
            try:
                yield Rig(settings, http, api, broker, client, requests)
            finally:
                await broker.aclose()

    return _open
