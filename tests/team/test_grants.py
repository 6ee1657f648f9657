"""Grants by scope, the audit trail and the rate limit, seen through the official SDK client over HTTP.

Each person's token decides the tools they see, the calls they may make, and whether contact details show;
every call leaves one audit line that names the customer by gcr_id and never by what the caller typed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import MCPError

from cdp_mcp.access.audit import KEY_FILE, identifier_hashes
from cdp_mcp.catalog import RESOURCES, Area
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.tools.registry import all_specs
from tests.team.authserver import AuthServer
from tests.team.conftest import Served, oauth_app

pytestmark = pytest.mark.anyio



def reached(*areas: Area) -> list[str]:
    """The tools a person sees with the scopes of `areas`: those whose resources all lie in them (the catalog says
    each resource's area)."""
    readable = {r.name for r in RESOURCES if r.area in areas}
    return [s.name for s in all_specs() if set(s.resources) <= readable]


PROFILE, MARKETING, COMMERCE = reached(Area.PROFILE), reached(Area.MARKETING), reached(Area.COMMERCE)


@pytest.fixture
async def served(cdp_env: dict[str, str], auth_server: AuthServer, tmp_path: Path) -> AsyncIterator[Served]:
    async with oauth_app(auth_server, tmp_path / "audit.jsonl") as app:
        yield app


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


@pytest.mark.parametrize(("scopes", "expected"), [
    ("cdp:profile", PROFILE),
    ("cdp:marketing", MARKETING),
    ("cdp:commerce", COMMERCE),
    ("cdp:consent", ["get_marketing_consent"]),
    ("cdp.profile cdp.consent cdp.marketing", reached(Area.PROFILE, Area.CONSENT, Area.MARKETING)),
    ("cdp:read", reached(*Area)),
])
async def test_each_person_sees_the_tools_their_scopes_reach(shared_app: Served, scopes: str,
                                                             expected: list[str]) -> None:
    for mode in ("auto", "legacy"):
        async with shared_app.client(shared_app.idp.token(scopes), mode=mode) as client:
            names = [t.name for t in (await client.list_tools()).tools]
        assert sorted(names) == sorted(expected)


async def test_the_catalog_resource_lists_the_tools_a_person_sees(shared_app: Served) -> None:
    async with shared_app.client(shared_app.idp.token("cdp:marketing")) as client:
        read = await client.read_resource("cdp://catalog")
    document = json.loads(getattr(read.contents[0], "text", ""))
    assert sorted(t["name"] for t in document["tools"]) == sorted(MARKETING)


async def test_a_call_outside_the_grants_is_a_tool_error_naming_the_scope(served: Served,
                                                                           showcase: SampleCustomer) -> None:
    async with served.client(served.idp.token("cdp:marketing", sub="mia")) as client:
        result = await client.call_tool("get_customer_profile", {"gcr_id": showcase.gcr_id})
        assert result.is_error and "cdp:profile" in _text(result) and "cdp:read" in _text(result)
        listed = await client.call_tool("list_customer_segments", {"gcr_id": showcase.gcr_id})
        assert not listed.is_error
    refused, allowed = served.audit_lines()
    assert refused["outcome"] == "SCOPE_NOT_GRANTED" and refused["resources"] == []
    assert refused["principal"] == "mia" and allowed["outcome"] == "ok" and allowed["resources"] == ["segments"]


async def test_contact_details_show_only_with_cdp_pii(served: Served, showcase: SampleCustomer) -> None:
    assert not served.settings.server.redact_pii
    cards = {}
    for scopes in ("cdp:profile", "cdp:profile cdp:pii"):
        async with served.client(served.idp.token(scopes)) as client:
            result = await client.call_tool("get_customer_profile", {"email": showcase.email})
        assert not result.is_error
        cards[scopes] = result.structured_content
    # basic carries the documented contact fields: the residence address and the exact birth date.
    full, masked = cards["cdp:profile cdp:pii"], cards["cdp:profile"]
    assert full is not None and masked is not None
    assert full["address"] and full["address"] != masked["address"] == "[redacted]"
    assert len(full["birth_date"]) == 10 and masked["birth_date"] == full["birth_date"][:4]
    assert [line["redacted"] for line in served.audit_lines()] == [True, False]


async def test_the_overview_degrades_to_the_sections_a_person_may_read(served: Served,
                                                                        showcase: SampleCustomer) -> None:
    async with served.client(served.idp.token("cdp:profile cdp:consent")) as client:
        result = await client.call_tool("get_customer_overview", {"gcr_id": showcase.gcr_id})
    card = result.structured_content or {}
    assert not result.is_error and card["who"] and "consent" in card
    assert "cdp:marketing" in card["unavailable"]["segments"] and "cdp:commerce" in card["unavailable"]["affinities"]
    (line,) = served.audit_lines()
    assert set(line["resources"]) == {"basic", "optIn"}  # nothing it was refused was requested upstream


async def test_a_gcr_id_someone_else_resolved_reaches_only_a_person_whose_scopes_reach_the_lookup(
    served: Served, showcase: SampleCustomer,
) -> None:
    """The session's gcr_id cache is no side door round the grants: without cdp:profile, no gcr_id."""
    async with served.client(served.idp.token("cdp:read", sub="ada")) as client:
        resolved = await client.call_tool("resolve_customer", {"email": showcase.email})
    async with served.client(served.idp.token("cdp:marketing", sub="mia")) as client:
        listed = await client.call_tool("list_customer_segments", {"email": showcase.email})
    async with served.client(served.idp.token("cdp:marketing cdp:profile", sub="noor")) as client:
        named = await client.call_tool("list_customer_segments", {"email": showcase.email})
    assert (resolved.structured_content or {})["gcr_id"] == showcase.gcr_id
    assert not listed.is_error and "gcr_id" not in (listed.structured_content or {})
    assert (named.structured_content or {})["gcr_id"] == showcase.gcr_id  # from the cache: no second lookup
    _, mia, noor = served.audit_lines()
    assert mia["resources"] == ["segments"] and "gcr_id" not in mia
    assert noor["resources"] == ["segments"] and noor["gcr_id"] == showcase.gcr_id


async def test_audit_lines_name_who_read_which_customer_without_the_identifiers_sent(
    served: Served, showcase: SampleCustomer,
) -> None:
    async with served.client(served.idp.token("cdp:read", sub="ada@corp.example")) as client:
        await client.call_tool("get_customer_profile", {"email": showcase.email})
        await client.call_tool("get_marketing_consent", {"mobile": showcase.mobile})
        await client.call_tool("resolve_customer", {"email": "nobody-here@example.com"})
        await client.call_tool("screen_customers", {"customers": [{"email": showcase.email}, {"gcr_id": 2}],
                                                    "segment_name": "High Value", "channel": "email"})
    raw = served.audit.read_text()
    assert showcase.email not in raw and showcase.mobile not in raw and "nobody-here" not in raw  # type: ignore[operator]
    profile, consent, missing, screening = served.audit_lines()
    key = (served.settings.state.state_dir / KEY_FILE).read_bytes().strip()
    assert profile["identifiers"] == identifier_hashes(key, CustomerIdentity(email=showcase.email))
    assert profile["gcr_id"] == showcase.gcr_id and consent["gcr_id"] == showcase.gcr_id
    assert list(consent["identifiers"]) == ["mobile"]
    assert "gcr_id" not in missing and missing["outcome"] == "ok"
    assert screening["gcr_ids"] == [showcase.gcr_id, 2] and screening["identifiers"] == ["email", "gcr_id"]
    for line in (profile, consent, missing, screening):
        assert line["principal"] == "ada@corp.example" and line["client_id"] == "test-client"
        assert line["transport"] == "http" and line["time"].endswith("Z") and len(line["request_id"]) == 12
        assert isinstance(line["duration_ms"], float)
    assert set(profile["resources"]) == {"basic", "gcrId"} and set(consent["resources"]) == {"gcrId", "optIn"}


async def test_the_rate_limit_refuses_with_when_to_retry(cdp_env: dict[str, str], auth_server: AuthServer,
                                                         tmp_path: Path, showcase: SampleCustomer) -> None:
    async with oauth_app(auth_server, tmp_path / "audit.jsonl", settings={"mcp_rate_limit": 4}) as served:
        async with served.client(served.idp.token(sub="eve")) as client:
            probe = await client.call_tool("resolve_customer", {"gcr_id": True})  # refused by the SDK: counted
            results = [await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id}) for _ in range(4)]
        async with served.client(served.idp.token(sub="finn")) as client:  # another person has their own bucket
            other = await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})
    assert probe.is_error and [r.is_error for r in results] == [False, False, False, True] and not other.is_error
    wait = re.search(r"Retry in (\d+) s", _text(results[3]))  # 15 s less the time the four calls took
    assert "4 a minute" in _text(results[3]) and wait is not None and 1 <= int(wait.group(1)) <= 15
    lines = served.audit_lines()
    assert [line["outcome"] for line in lines][:5] == ["INVALID_ARGUMENTS", "ok", "ok", "ok", "CALL_RATE_LIMITED"]
    assert lines[0]["principal"] == "eve" and lines[0]["transport"] == "http" and lines[0]["tool"] == "resolve_customer"


async def test_the_overview_resource_is_rate_limited_granted_and_audited_like_a_tool_call(
    cdp_env: dict[str, str], auth_server: AuthServer, tmp_path: Path, showcase: SampleCustomer,
) -> None:
    uri = f"cdp://customers/{showcase.gcr_id}/overview"
    async with oauth_app(auth_server, tmp_path / "audit.jsonl", settings={"mcp_rate_limit": 2}) as served:
        async with served.client(served.idp.token("cdp:profile cdp:consent", sub="gus")) as client:
            card = json.loads(getattr((await client.read_resource(uri)).contents[0], "text", ""))
            assert not (await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})).is_error
            with pytest.raises(MCPError) as limited:  # the resource and the tools share the person's bucket
                await client.read_resource(uri)
        async with served.client(served.idp.token("cdp:marketing", sub="hal")) as client:
            with pytest.raises(MCPError) as refused:
                await client.read_resource(uri)
    assert card["gcr_id"] == showcase.gcr_id and "consent" in card
    assert "2 a minute" in str(limited.value) and "cdp:profile" in str(refused.value)
    read, _, over, outside = served.audit_lines()
    assert [line["tool"] for line in (read, over, outside)] == ["resource:customer_overview"] * 3
    assert [line["outcome"] for line in (read, over, outside)] == ["ok", "CALL_RATE_LIMITED", "SCOPE_NOT_GRANTED"]
    assert read["principal"] == "gus" and read["gcr_id"] == showcase.gcr_id and read["transport"] == "http"
    assert read["identifiers"] == {"gcr_id": str(showcase.gcr_id)} and set(read["resources"]) == {"basic", "optIn"}
    assert over["resources"] == outside["resources"] == [] and outside["principal"] == "hal"
    assert len({line["request_id"] for line in served.audit_lines()}) == 4


async def test_opaque_tokens_are_introspected(cdp_env: dict[str, str], auth_server: AuthServer,
                                              tmp_path: Path, showcase: SampleCustomer) -> None:
    from tests.team.authserver import CLIENT_ID, CLIENT_SECRET  # noqa: PLC0415

    settings = {"mcp_oauth_introspection_url": f"{auth_server.issuer}/introspect",
                "mcp_oauth_client_id": CLIENT_ID, "mcp_oauth_client_secret": CLIENT_SECRET}
    async with oauth_app(auth_server, tmp_path / "audit.jsonl", settings=settings) as served:
        idp = served.idp
        async with served.client(idp.opaque_token("cdp:consent")) as client:
            assert [t.name for t in (await client.list_tools()).tools] == ["get_marketing_consent"]
            assert not (await client.call_tool("get_marketing_consent", {"gcr_id": showcase.gcr_id})).is_error
        now = int(time.time())
        for token, reason in ((idp.opaque_token(active=False), "not active"),
                              (idp.opaque_token(aud="https://other.example/mcp"), "not issued for this server"),
                              (idp.opaque_token(iss="https://evil.example"), "another issuer"),
                              (idp.opaque_token(exp=now - 120), "expired"),  # active, says the endpoint, yet past
                              (idp.opaque_token(nbf=now + 600), "not valid yet"),
                              ("never-issued", "not active")):
            response = await served.post({"Authorization": f"Bearer {token}"})
            assert response.status_code == 401 and reason in response.headers["www-authenticate"]
    assert idp.introspections >= 7


async def test_the_principal_claim_names_people_and_machines_are_named_by_their_client(
    cdp_env: dict[str, str], auth_server: AuthServer, tmp_path: Path, showcase: SampleCustomer,
) -> None:
    """CDP_MCP_OAUTH_PRINCIPAL_CLAIM names the person in audit lines and rate limits; a machine token (no person
    in it) is `client:<client_id>`, which no person can be named."""
    settings = {"mcp_oauth_principal_claim": "email", "mcp_rate_limit": 2}
    async with oauth_app(auth_server, tmp_path / "audit.jsonl", settings=settings) as served:
        idp = served.idp
        call = ("resolve_customer", {"gcr_id": showcase.gcr_id})
        async with served.client(idp.token(sub="00u1a2b3", email="ada@corp.example")) as client:
            assert not (await client.call_tool(*call)).is_error
        async with served.client(idp.token(sub="00u9z8y7", email="ada@corp.example")) as client:  # same person
            assert not (await client.call_tool(*call)).is_error
            assert (await client.call_tool(*call)).is_error  # one bucket: her third call this minute
        machines = [idp.token(sub=None, client_id="nightly-job"),  # no person in it
                    idp.token(sub="nightly-job", client_id="nightly-job"),  # Okta's client credentials
                    idp.token(sub="nightly-job@clients", client_id="nightly-job")]  # Auth0's
        for token in machines:
            async with served.client(token) as client:
                await client.call_tool(*call)
        for token, reason in ((idp.token(sub="00u4d5e6"), "lacks the email claim"),
                              (idp.token(email="client:nightly-job"), "reserved")):
            response = await served.post({"Authorization": f"Bearer {token}"})
            assert response.status_code == 401 and reason in response.headers["www-authenticate"]
    principals = [line["principal"] for line in served.audit_lines()]
    assert principals == ["ada@corp.example"] * 3 + ["client:nightly-job"] * 3


async def test_by_default_sub_names_the_person_and_a_token_without_sub_is_its_client(
    shared_app: Served, showcase: SampleCustomer,
) -> None:
    before = len(shared_app.audit_lines())
    response = await shared_app.post({"Authorization": f"Bearer {shared_app.idp.token(sub='client:test-client')}"})
    assert response.status_code == 401 and "reserved" in response.headers["www-authenticate"]
    for token in (shared_app.idp.token(sub="kim"), shared_app.idp.token(sub=None)):
        async with shared_app.client(token) as client:
            await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})
    assert [line["principal"] for line in shared_app.audit_lines()[before:]] == ["kim", "client:test-client"]


@pytest.mark.parametrize("prefix", ["cdp.", "api://0f1e2d3c-app/cdp."])
async def test_the_scope_prefix_names_every_advertised_scope_and_tokens_may_carry_any_spelling(
    cdp_env: dict[str, str], auth_server: AuthServer, tmp_path: Path, showcase: SampleCustomer, prefix: str,
) -> None:
    """CDP_MCP_SCOPE_PREFIX for identity providers whose scope names differ: Entra ID is asked for
    `api://<app>/cdp.read` and puts `cdp.read` in `scp`; others refuse `:` in a scope name."""
    async with oauth_app(auth_server, tmp_path / "audit.jsonl", settings={"mcp_scope_prefix": prefix}) as served:
        idp = served.idp
        async with httpx2.AsyncClient() as http:
            metadata = (await http.get(f"{served.base}/.well-known/oauth-protected-resource/mcp")).json()
        assert metadata["scopes_supported"] == [prefix + name for name in
                                                ("profile", "consent", "commerce", "marketing", "read", "pii")]
        anonymous = await served.post()
        assert f'scope="{prefix}read"' in anonymous.headers["www-authenticate"]
        nothing = await served.post({"Authorization": f"Bearer {idp.token('openid ' + prefix + 'pii')}"})
        assert nothing.status_code == 403 and f'scope="{prefix}read"' in nothing.headers["www-authenticate"]
        assert f"{prefix}profile" in nothing.json()["error_description"]
        for spelling in (f"{prefix}read", "cdp.read", "cdp:read"):
            async with served.client(idp.token(spelling)) as client:
                assert len((await client.list_tools()).tools) == len(all_specs()), spelling
        async with served.client(idp.token(f"{prefix}marketing cdp.pii", sub="mia")) as client:
            result = await client.call_tool("get_customer_profile", {"gcr_id": showcase.gcr_id})
            segments = await client.call_tool("list_customer_segments", {"gcr_id": showcase.gcr_id})
        assert result.is_error and f"{prefix}profile (or {prefix}read)" in _text(result)
        assert "cdp:" not in _text(result)
        assert not segments.is_error
