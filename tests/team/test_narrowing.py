"""With sign-in, a request's X-CDP-* headers narrow what the person's scopes reach, never widen it, and the audit
line says which mode each call ran in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from cdp_mcp.sandbox import SampleCustomer
from tests.team.authserver import AuthServer
from tests.team.conftest import Served, oauth_app

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def narrowed_client(served: Served, scopes: str, headers: dict[str, str]) -> AsyncIterator[Client]:
    bearer = {"Authorization": f"Bearer {served.idp.token(scopes)}"}
    async with httpx2.AsyncClient(headers=bearer | headers, timeout=30) as http, \
            Client(streamable_http_client(served.mcp, http_client=http)) as client:
        yield client


async def test_a_request_only_hides_tools_the_person_could_see(shared_app: Served) -> None:
    asked = {"X-CDP-Tools": "get_customer_profile,list_customer_segments,screen_customers"}
    async with narrowed_client(shared_app, "cdp:profile", asked) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        segments = await client.call_tool("list_customer_segments", {"gcr_id": 1})
    assert names == ["get_customer_profile"]  # the header asked for more than cdp:profile reaches: not given
    assert segments.is_error and "cdp:marketing" in getattr(segments.content[0], "text", "")


async def test_the_audit_line_says_which_mode_each_call_ran_in(cdp_env: dict[str, str], auth_server: AuthServer,
                                                              tmp_path: Path, showcase: SampleCustomer) -> None:
    async with oauth_app(auth_server, tmp_path / "audit.jsonl") as served:
        for headers in ({}, {"X-CDP-Untrusted": "omit"}):
            async with narrowed_client(served, "cdp:profile", headers) as client:
                result = await client.call_tool("get_customer_profile", {"gcr_id": showcase.gcr_id})
            assert not result.is_error and ("name" in (result.structured_content or {})) == (not headers)
        assert [line["untrusted"] for line in served.audit_lines()] == ["sanitize", "omit"]
