"""Client test rig: the real client and token API against the sandbox over loopback HTTP.

`ScopedTokens` is a deliberately tiny `TokenSource` (one created token per scope, forgotten on 401) so the
client is tested without the broker. `FakeTimer` stands in for the retry policy's clock and sleep: waits are
recorded and advance its time instead of passing. `Faulty` is an ASGI app in front of the sandbox's that
answers the first requests of a route with injected failures. `answer` gives a client whose every data call
gets one canned answer, for shapes the sandbox cannot serve (other tenants' spellings, the vendor's examples).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from cdp_mcp.catalog import Header, Resource
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.retry import RetryPolicy
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.settings import Settings

__all__ = ["ClientRig", "FakeTimer", "Faulty", "Fetch", "FixedToken", "ScopedTokens", "ok", "settings_for"]


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


class Faulty:
    """ASGI app in front of the sandbox's: the first faults on paths ending in `path` are answered here."""

    def __init__(self, app: Any, path: str, faults: list[tuple[int, dict[str, str]]], body: Any = None) -> None:
        self.app, self.path, self.faults = app, path, list(faults)
        self.body = json.dumps(body if body is not None else {"status": "ERROR", "message": "try later",
                                                               "errorCode": "BUSY", "data": None}).encode()
        self.seen: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith(self.path):
            self.seen["requests"] += 1
            if self.faults:
                status, headers = self.faults.pop(0)
                raw = [(b"content-type", b"application/json"), *((k.encode(), v.encode()) for k, v in headers.items())]
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": self.body})
                return
        await self.app(scope, receive, send)


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
        headers = {Header.ACCESS_TOKEN.value: token, Header.TENANT_HASH.value: self.server.tenant_hash}
        if spec.identity_in_body:
            body = {**(body or {}), **identity.wire()}
        else:
            headers |= identity.wire()
        params = {spec.query_param: query} if spec.query_param and query is not None else None
        response = await self.http.post(spec.route, headers=headers, params=params, json=body)
        assert response.status_code == 200, response.status_code
        return response.json()


OpenRig = Callable[..., AbstractAsyncContextManager[ClientRig]]


@pytest.fixture
def open_rig(tmp_path: Path) -> OpenRig:
    """`async with open_rig(server, transport=..., **settings) as rig`: a client on `server` (fresh tokens)."""

    @asynccontextmanager
    async def _open(server: Any, *, transport: httpx2.AsyncBaseTransport | None = None, max_retries: int = 3,
                    budget: float = 20.0, **overrides: Any) -> AsyncIterator[ClientRig]:
        settings = settings_for(server, tmp_path, **overrides)
        timer = FakeTimer()
        async with make_http_client(settings, base_url=server.base_url, transport=transport) as http:
            policy = timer.policy(max_retries=max_retries, budget=budget)
            api = TokenApiClient(http, settings, retry=policy, clock=server.clock)
            tokens = ScopedTokens(api)
            client = CdpClient(http, settings, tokens, retry=policy, clock=server.clock)
            yield ClientRig(server, settings, http, api, tokens, client, timer)

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
Fetch = Callable[..., Any]


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


def ok(data: Any) -> dict[str, Any]:
    return {"status": "OK", "message": "", "data": data}
