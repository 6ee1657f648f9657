"""HTTP helpers for the sandbox tests: tokens and profile calls that spell nothing the catalog does not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx2

from cdp_mcp.catalog import IDENTIFIERS, RESOURCE_NAMES, TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, Header, resource
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.sandbox.server import SandboxThread

__all__ = ["ALL", "Api", "identity_headers"]

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
