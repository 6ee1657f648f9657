"""Fixtures of the sandbox tests: an `Api` over a loopback sandbox server, and the shared one reset per test.

Helpers live here (not in an importable module) so the tests work under any pytest import mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx2
import pytest

from cdp_mcp.catalog import IDENTIFIERS, RESOURCE_NAMES, TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, Header, resource
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.sandbox.server import SandboxThread

ALL = sorted(RESOURCE_NAMES)


def identity_headers(sample: SampleCustomer, *arguments: str) -> dict[str, str]:
    """Identifier headers of a sample customer for the given argument names (gcr_id, email, mobile, customer_code)."""
    by_argument = {i.argument: i.header for i in IDENTIFIERS}
    return {by_argument[a]: str(getattr(sample, a)) for a in arguments}


class Api:
    """Plain HTTP calls against one served sandbox, spelling nothing the catalog does not."""

    def __init__(self, server: SandboxThread, client: httpx2.AsyncClient) -> None:
        self.server = server
        self.client = client

    @property
    def tenant(self) -> dict[str, str]:
        return {Header.TENANT_HASH: self.server.tenant_hash}

    async def create(self, resources: Iterable[str] = ALL, *, validity: int | None = None,
                     headers: dict[str, str] | None = None, key: str = "resource") -> httpx2.Response:
        body: dict[str, Any] = {key: list(resources)}
        if validity is not None:
            body["validity"] = validity
        return await self.client.post(TOKEN_CREATE_PATH, headers=headers if headers is not None else self.tenant,
                                      json=body)

    async def token(self, resources: Iterable[str] = ALL, *, validity: int | None = None) -> str:
        response = await self.create(resources, validity=validity)
        assert response.status_code == 200, response.text
        return response.json()["data"]["token"]

    async def update(self, token: str, resources: Iterable[str] | None = None, *,
                     validity: int | None = None) -> httpx2.Response:
        body: dict[str, Any] = {"token": token}
        if resources is not None:
            body["resource"] = list(resources)
        if validity is not None:
            body["validity"] = validity
        return await self.client.post(TOKEN_UPDATE_PATH, headers=self.tenant, json=body)

    async def call(self, name: str, token: str, identity: dict[str, str] | None = None, *,
                   query: str | None = None, body: Any = None, content: bytes | None = None,
                   headers: dict[str, str] | None = None) -> httpx2.Response:
        r = resource(name)
        sent = {**self.tenant, Header.ACCESS_TOKEN: token, **(identity or {}), **(headers or {})}
        params = {r.query_param: query} if r.query_param and query is not None else None
        if content is not None:
            return await self.client.post(r.route, headers=sent, params=params, content=content)
        return await self.client.post(r.route, headers=sent, params=params, json=body)

    async def data(self, name: str, token: str, identity: dict[str, str], **kwargs: Any) -> Any:
        response = await self.call(name, token, identity, **kwargs)
        assert response.status_code == 200, response.text
        payload = response.json()
        return payload if isinstance(payload, list) else payload["data"]

    @staticmethod
    def ids(sample: SampleCustomer, *arguments: str) -> dict[str, str]:
        """Identifier headers (or gcr body keys) of a sample for argument names gcr_id, email, mobile, customer_code."""
        return identity_headers(sample, *arguments)


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
