"""Signing in for real: node oidc-provider as the company's identity provider, the MCP SDK's own OAuth client as
each person's host, cdp-mcp over HTTP on the embedded sandbox.

Each host discovers the issuer from the 401 and the protected resource metadata, registers itself dynamically,
sends its person's browser through sign-in and consent (PKCE, RFC 8707 `resource`), exchanges the code, refreshes
when the access token runs out, and carries on across a rotation of the issuer's signing keys. People differ in
what the issuer grants them: a read-only person, a profile-only person, a person with every scope.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.tools.registry import all_specs
from tests.signin.conftest import Host, signed_in_server
from tests.signin.idp import MACHINE, OidcProvider, signing_key

pytestmark = pytest.mark.anyio

PROFILE = {"get_customer_profile", "resolve_customer", "get_customer_attributes", "get_customer_overview"}
EVERY_TOOL = len(all_specs())


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


@pytest.mark.parametrize(("person", "granted", "tools", "contact_details"), [
    ("rea", {"cdp:read"}, EVERY_TOOL, False),
    ("pat", {"cdp:profile"}, PROFILE, False),
    ("alex", {"cdp:profile", "cdp:consent", "cdp:commerce", "cdp:marketing", "cdp:read", "cdp:pii"}, EVERY_TOOL, True),
])
async def test_a_person_signs_in_through_their_host_and_reads_what_the_issuer_granted(
    provider: OidcProvider, server_socket: Any, tmp_path: Path, cdp_env: dict[str, str], showcase: SampleCustomer,
    person: str, granted: set[str], tools: int | set[str], contact_details: bool,
) -> None:
    async with signed_in_server(provider.issuer, tmp_path, server_socket) as served:
        host = Host.for_person(person, served.mcp)
        async with host.session(served.mcp) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            card = await client.call_tool("get_customer_profile", {"email": showcase.email})
            purchases = await client.call_tool("list_purchased_products", {"gcr_id": showcase.gcr_id})

    assert names == tools if isinstance(tools, set) else len(names) == tools
    assert not card.is_error and card.structured_content is not None
    assert (card.structured_content["address"] != "[redacted]") is contact_details
    assert purchases.is_error is (person == "pat")
    if person == "pat":
        assert "cdp:commerce (or cdp:read)" in _text(purchases)
    # What the host did, as the issuer saw it: one registration, PKCE S256 with the resource, the scope the 401
    # named (never cdp:pii), one code exchange with the verifier and the resource.
    [registration] = provider.requests("registration")
    assert registration["application_type"] == "native" and "refresh_token" in registration["grant_types"]
    [authorization] = provider.requests("authorization")
    assert authorization["code_challenge_method"] == "S256" and authorization["resource"] == served.mcp
    assert authorization["scope"].split() == ["cdp:read", "offline_access"]
    assert host.browser.prompts == ["login", "consent"]
    [exchange] = provider.requests("token")
    assert exchange == {"endpoint": "token", "grant_type": "authorization_code", "resource": served.mcp,
                        "code_verifier": "sent"}
    # The access token: RFC 9068 for this server, with what the person is entitled to and nothing else.
    assert jwt.get_unverified_header(host.access_token)["typ"] == "at+jwt"
    claims = jwt.decode(host.access_token, options={"verify_signature": False})
    assert claims["aud"] == served.mcp and claims["sub"] == person and set(claims["scope"].split()) == granted
    assert {line["principal"] for line in served.audit_lines()} == {person}


async def test_a_host_refreshes_and_carries_on_across_a_key_rotation(
    provider: OidcProvider, server_socket: Any, tmp_path: Path, cdp_env: dict[str, str],
) -> None:
    async with signed_in_server(provider.issuer, tmp_path, server_socket) as served:
        host = Host.for_person("rea", served.mcp)
        async with host.session(served.mcp) as client:
            assert len((await client.list_tools()).tools) == EVERY_TOOL
        first = host.access_token
        rotated = signing_key()
        provider.restart([rotated, *provider.keys])  # the new key signs; the old one stays published for a while
        host.expire_access_token()
        async with host.session(served.mcp) as client:  # refreshed first, then sent with a key never seen
            assert len((await client.list_tools()).tools) == EVERY_TOOL
        second = host.access_token
        async with httpx2.AsyncClient() as http:  # the earlier token is still good while its key is published
            still = await http.post(served.mcp, headers={"Authorization": f"Bearer {first}",
                                                         "Accept": "application/json, text/event-stream",
                                                         "MCP-Protocol-Version": "2025-06-18"},
                                    json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
    assert second != first and jwt.get_unverified_header(second)["kid"] == rotated["kid"]
    assert jwt.get_unverified_header(first)["kid"] != rotated["kid"] and still.status_code == 200
    assert host.browser.prompts == ["login", "consent"]  # nobody was asked to sign in again
    assert [r["grant_type"] for r in provider.requests("token")] == ["authorization_code", "refresh_token"]
    assert [r["resource"] for r in provider.requests("token")] == [served.mcp] * 2


async def test_an_issuer_declaring_only_cdp_dot_scopes_works_with_the_scope_prefix(
    node_provider_ready: None, server_socket: Any, tmp_path: Path, cdp_env: dict[str, str],
    showcase: SampleCustomer,
) -> None:
    """Identity providers that refuse `:` in scope names: the provider declares `cdp.read` and the others only,
    and cdp-mcp with CDP_MCP_SCOPE_PREFIX=cdp. names them so everywhere a host looks."""
    base = f"http://127.0.0.1:{server_socket.getsockname()[1]}"
    provider = OidcProvider(resource=f"{base}/mcp", directory=tmp_path, prefix="cdp.").start()
    try:
        async with signed_in_server(provider.issuer, tmp_path, server_socket, mcp_scope_prefix="cdp.") as served:
            async with httpx2.AsyncClient() as http:
                metadata = (await http.get(f"{base}/.well-known/oauth-protected-resource/mcp")).json()
            hosts = {person: Host.for_person(person, served.mcp) for person in ("rea", "pat")}
            for person, host in hosts.items():
                async with host.session(served.mcp) as client:
                    names = {t.name for t in (await client.list_tools()).tools}
                    purchases = await client.call_tool("list_purchased_products", {"gcr_id": showcase.gcr_id})
                assert len(names) == EVERY_TOOL if person == "rea" else names == PROFILE
                assert purchases.is_error is (person == "pat")
    finally:
        provider.stop()
    assert metadata["scopes_supported"] == ["cdp.profile", "cdp.consent", "cdp.commerce", "cdp.marketing",
                                            "cdp.read", "cdp.pii"]
    assert [r["scope"].split()[0] for r in provider.requests("authorization")] == ["cdp.read", "cdp.read"]
    assert "cdp.commerce (or cdp.read)" in _text(purchases)
    tokens = {p: jwt.decode(h.access_token, options={"verify_signature": False}) for p, h in hosts.items()}
    assert tokens["rea"]["scope"] == "cdp.read" and tokens["pat"]["scope"] == "cdp.profile"


async def test_people_are_named_by_the_principal_claim_and_a_job_by_its_client(
    provider: OidcProvider, server_socket: Any, tmp_path: Path, cdp_env: dict[str, str], showcase: SampleCustomer,
) -> None:
    """CDP_MCP_OAUTH_PRINCIPAL_CLAIM=email names people in the audit trail by the email the issuer puts in their
    tokens; a client-credentials token (a nightly job: no person in it) is `client:<client id>`."""
    async with signed_in_server(provider.issuer, tmp_path, server_socket,
                                mcp_oauth_principal_claim="email") as served:
        host = Host.for_person("alex", served.mcp)
        async with host.session(served.mcp) as client:
            await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})
        job = provider.machine_token("cdp:marketing")
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {job}"}) as http, \
                Client(streamable_http_client(served.mcp, http_client=http)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            await client.call_tool("list_customer_segments", {"gcr_id": showcase.gcr_id})
    assert jwt.decode(job, options={"verify_signature": False})["sub"] == MACHINE[0]  # no person: its client
    assert names == {"list_customer_segments", "search_customer_segments", "check_customer_in_segment",
                     "list_customer_campaigns", "search_customer_campaigns"}
    assert [line["principal"] for line in served.audit_lines()] == ["alex@corp.example", f"client:{MACHINE[0]}"]
