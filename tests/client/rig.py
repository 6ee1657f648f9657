"""The client test rig: the real client and token API against a sandbox over loopback HTTP (or a transport given).

`ScopedTokens` is a deliberately tiny `TokenSource` (one created token per scope, forgotten on 401) so the
client is tested without the broker. `FakeTimer` stands in for the retry policy's clock and sleep: waits are
recorded and advance its time instead of passing. `open_client_rig` opens one rig; the `open_rig` and `rig`
fixtures (conftest.py) and the vendor-contract test use it. `ok` wraps data in the standard envelope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from cdp_mcp.catalog import Header, Resource
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.retry import RetryPolicy
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.settings import Settings

__all__ = ["ClientRig", "FakeTimer", "Fetch", "FixedToken", "OpenRig", "Recorder", "ScopedTokens", "ok",
           "open_client_rig", "settings_for"]


class ScopedTokens:
    """One token per scope, created through the real token API; counts what the client asks of it."""

    def __init__(self, api: TokenApiClient) -> None:
        self.api = api
        self.tokens: dict[frozenset[str], str] = {}
        self.acquired: list[frozenset[str]] = []
        self.invalidated: list[tuple[frozenset[str], str]] = []

    async def acquire(self, resources: frozenset[str]) -> str:
        self.acquired.append(resources)
        if resources not in self.tokens:
            self.tokens[resources] = (await self.api.create_token(resources)).token
        return self.tokens[resources]

    async def invalidate(self, resources: frozenset[str], token: str) -> None:
        self.invalidated.append((resources, token))
        if self.tokens.get(resources) == token:
            del self.tokens[resources]


class FixedToken:
    """A TokenSource that always hands out the same token, whatever the scope; counts invalidations."""

    def __init__(self, token: str = "a-token") -> None:
        self.token = token
        self.invalidated = 0

    async def acquire(self, resources: frozenset[str]) -> str:
        return self.token

    async def invalidate(self, resources: frozenset[str], token: str) -> None:
        self.invalidated += 1


class Recorder(httpx2.AsyncBaseTransport):
    """A real loopback transport that keeps every request it sends."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class FakeTimer:
    """Monotonic time that only moves when the retry loop sleeps; every wait is recorded."""

    now: float = 1000.0
    waits: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    def policy(self, *, max_retries: int = 3, budget: float = 20.0, jitter: float = 1.0) -> RetryPolicy:
        return RetryPolicy(max_retries=max_retries, budget=budget, sleep=self.sleep, monotonic=self.monotonic,
                           random=lambda: jitter)


def settings_for(server: Any, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"b2b_api_url": server.base_url, "tenant_hash": server.tenant_hash,
                              "state_dir": tmp_path / "state"}
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@dataclass
class ClientRig:
    server: Any
    settings: Settings
    http: httpx2.AsyncClient
    api: TokenApiClient
    tokens: ScopedTokens
    client: CdpClient
    timer: FakeTimer

    async def raw(self, spec: Resource, identity: CustomerIdentity, *, query: str | None = None,
                  body: dict[str, Any] | None = None) -> Any:
        """The sandbox's own JSON for a call: the source of truth the parsed models are checked against."""
        token = await self.tokens.acquire(frozenset({spec.name}))
        headers = {Header.ACCESS_TOKEN.value: token, Header.TENANT_HASH.value: self.server.tenant_hash,
                   **identity.wire()}
        if spec.identity_in_body:  # the gcr lookup: also its documented body keys, as the client sends them
            body = {**(body or {}), **identity.wire(gcr_body=True)} or None
        params = {spec.query_param: query} if spec.query_param and query is not None else None
        response = await self.http.post(spec.route, headers=headers, params=params, json=body)
        assert response.status_code == 200, response.status_code
        return response.json()


@asynccontextmanager
async def open_client_rig(server: Any, tmp_path: Path, *, transport: httpx2.AsyncBaseTransport | None = None,
                          max_retries: int = 3, budget: float = 20.0, **overrides: Any) -> AsyncIterator[ClientRig]:
    """A client on `server` with fresh tokens (`overrides` are settings), through `transport` when given."""
    settings = settings_for(server, tmp_path, **overrides)
    timer = FakeTimer()
    async with make_http_client(settings, base_url=server.base_url, transport=transport) as http:
        policy = timer.policy(max_retries=max_retries, budget=budget)
        api = TokenApiClient(http, settings, retry=policy, clock=server.clock)
        tokens = ScopedTokens(api)
        client = CdpClient(http, settings, tokens, retry=policy, clock=server.clock)
        yield ClientRig(server, settings, http, api, tokens, client, timer)


OpenRig = Callable[..., AbstractAsyncContextManager[ClientRig]]
Fetch = Callable[..., Any]


def ok(data: Any) -> dict[str, Any]:
    return {"status": "OK", "message": "", "data": data}
