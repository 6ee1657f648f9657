"""Sign-in on /mcp: protected resource metadata, and every kind of bad token refused before any tool runs.

Real cryptography and HTTP: the authorization server (tests/team/authserver.py) serves discovery and JWKS on
loopback with keys made for the test; cdp-mcp runs under uvicorn and is reached over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr

from cdp_mcp.cli import main
from cdp_mcp.errors import SignInUnavailableError
from cdp_mcp.grants import SCOPES_SUPPORTED
from cdp_mcp.settings import ALGORITHMS, Introspection, OAuthConfig
from cdp_mcp.sign_in.keys import IssuerKeys
from cdp_mcp.sign_in.verifiers import IntrospectionVerifier, JwtVerifier
from tests.team.authserver import AuthServer, SigningKey
from tests.team.conftest import Served, oauth_app

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served(cdp_env: dict[str, str], auth_server: AuthServer, tmp_path: Path) -> AsyncIterator[Served]:
    async with oauth_app(auth_server, tmp_path / "audit.jsonl") as app:
        yield app


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(idp: AuthServer) -> dict[str, Any]:
    return {"iss": idp.issuer, "aud": idp.audience, "sub": "x", "scope": "cdp:read", "exp": time.time() + 600}


def _challenge(response: Any) -> str:
    return str(response.headers.get("www-authenticate", ""))


async def test_protected_resource_metadata_names_the_issuer_and_every_scope(shared_app: Served) -> None:
    async with httpx2.AsyncClient() as http:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            document = (await http.get(shared_app.base + path)).json()
            assert document["resource"] == shared_app.mcp
            assert document["authorization_servers"] == [shared_app.idp.issuer]
            assert document["scopes_supported"] == list(SCOPES_SUPPORTED)
        health = (await http.get(f"{shared_app.base}/healthz")).json()
    assert health["auth"] == "oauth"


async def test_a_request_without_a_token_gets_the_bare_challenge(shared_app: Served) -> None:
    response = await shared_app.post()
    assert response.status_code == 401
    assert _challenge(response) == (f'Bearer error_description="Sign in: send an OAuth access token as '
                                    f'Authorization: Bearer <token>", resource_metadata="{shared_app.base}'
                                    f'/.well-known/oauth-protected-resource/mcp"')
    basic = await shared_app.post({"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401 and "invalid_token" not in _challenge(basic)


def _hs256_with_public_key(idp: AuthServer) -> str:
    """The classic confusion attack: HMAC keyed with the issuer's public key, which anyone can fetch."""
    public = idp.keys[0].private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = (f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': idp.keys[0].kid})}."
                     f"{_b64(_claims(idp))}")
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


BAD_TOKENS: dict[str, tuple[Callable[[AuthServer], str], str]] = {
    "expired": (lambda idp: idp.token(lifetime=-120), "expired"),
    "not yet valid": (lambda idp: idp.token(not_before=600), "not valid yet"),
    "wrong issuer": (lambda idp: idp.token(iss="https://evil.example"), "another issuer"),
    "wrong audience": (lambda idp: idp.token(aud="https://other.example/mcp"), "not issued for this server"),
    "no audience": (lambda idp: idp.token(aud=None), "lacks exp, iss or aud"),
    "bad signature": (lambda idp: idp.token(key=SigningKey(idp.keys[0].kid, "ES256", SigningKey.ec().private)),
                      "signature does not verify"),
    "alg none": (lambda idp: f"{_b64({'alg': 'none', 'kid': idp.keys[0].kid})}.{_b64(_claims(idp))}.",
                 "algorithm this server does not accept"),
    "HS256 keyed with the public key": (_hs256_with_public_key, "algorithm this server does not accept"),
    "unknown kid": (lambda idp: idp.token(key=SigningKey.ec()), "key the issuer does not publish"),
    "malformed": (lambda idp: "not-a-jwt", "malformed"),
    "garbage segments": (lambda idp: "eyJ!!.e30.sig", "malformed"),
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_bad_tokens_are_refused_with_the_reason_and_never_reach_a_tool(
    shared_app: Served, kind: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    make, reason = BAD_TOKENS[kind]
    token = make(shared_app.idp)
    response = await shared_app.post({"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    challenge = _challenge(response)
    assert challenge.startswith('Bearer error="invalid_token"') and reason in challenge
    assert f'resource_metadata="{shared_app.base}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert token not in response.text and token not in challenge
    assert shared_app.audit_lines() == []  # no tool ran
    assert token not in caplog.text and reason in caplog.text  # the log says why, never with the token


async def test_a_token_with_none_of_our_scopes_gets_403_naming_the_scope(shared_app: Served) -> None:
    response = await shared_app.post({"Authorization": f"Bearer {shared_app.idp.token('openid profile cdp:pii')}"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in _challenge(response) and 'scope="cdp:read"' in _challenge(response)
    described = response.json()["error_description"]  # the scopes that reach data; cdp:pii alone reaches none
    assert "cdp:profile" in described and "cdp:read" in described and "cdp:pii" not in described


async def test_a_rotated_key_is_fetched_once_and_the_dropped_key_stops_working(served: Served) -> None:
    idp = served.idp
    old = idp.token()
    async with served.client(old) as client:
        assert len((await client.list_tools()).tools) == 16
    fetches = idp.jwks_fetches
    idp.rotate()
    async with served.client(idp.token()) as client:  # new kid: one refetch, then accepted
        assert len((await client.list_tools()).tools) == 16
    assert idp.jwks_fetches == fetches + 1
    response = await served.post({"Authorization": f"Bearer {old}"})  # cached keys were replaced by the refetch
    assert response.status_code == 401 and "does not publish" in _challenge(response)


async def test_keys_down_cached_keys_keep_serving_and_new_kids_are_refused_unchecked_never(served: Served) -> None:
    idp = served.idp
    async with served.client(idp.token()) as client:
        await client.list_tools()
    idp.jwks_down = True
    async with served.client(idp.token(sub="bob")) as client:  # known kid: the cache answers
        assert len((await client.list_tools()).tools) == 16
    idp.rotate()
    response = await served.post({"Authorization": f"Bearer {idp.token()}"})  # only a fetch could tell
    assert response.status_code == 503 and response.headers["retry-after"] == "10"
    assert "cannot be checked right now" in response.json()["error_description"]


async def test_the_audit_file_is_private(served: Served, showcase: Any) -> None:
    async with served.client(served.idp.token("cdp:profile")) as client:
        await client.call_tool("resolve_customer", {"email": showcase.email})
    assert stat.S_IMODE(os.stat(served.audit).st_mode) == 0o600


def test_incomplete_sign_in_configuration_stops_start_up_naming_the_variable(
    cdp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CDP_MCP_OAUTH_ISSUER", "https://login.example.com")
    assert main(["serve", "--transport", "http", "--host", "0.0.0.0"]) == 2
    assert "CDP_MCP_PUBLIC_URL is required" in capsys.readouterr().err
    monkeypatch.setenv("CDP_MCP_PUBLIC_URL", "https://cdp.example.com")
    monkeypatch.setenv("CDP_MCP_AUTH_TOKEN", "a-static-token-0123456789")
    assert main(["serve", "--transport", "http"]) == 2
    assert "exclusive" in capsys.readouterr().err
    monkeypatch.delenv("CDP_MCP_AUTH_TOKEN")
    monkeypatch.setenv("CDP_MCP_OAUTH_INTROSPECTION_URL", "https://login.example.com/introspect")
    assert main(["serve", "--transport", "http"]) == 2
    assert "CDP_MCP_OAUTH_CLIENT_ID is required" in capsys.readouterr().err
    monkeypatch.delenv("CDP_MCP_OAUTH_ISSUER")
    assert main(["serve", "--transport", "http"]) == 2  # an OAuth variable without the issuer would serve open
    assert "CDP_MCP_OAUTH_ISSUER is not" in capsys.readouterr().err


async def test_cached_keys_serve_until_they_expire_then_tokens_are_refused_unchecked_never(
    auth_server: AuthServer,
) -> None:
    auth_server.audience = "https://cdp.example.com/mcp"
    config = OAuthConfig(issuer=auth_server.issuer, resource=auth_server.audience, audience=auth_server.audience,
                         jwks_url=None, introspection=None, algorithms=ALGORITHMS)
    now = [1000.0]
    async with httpx2.AsyncClient() as http:
        keys = IssuerKeys(auth_server.issuer, http, clock=lambda: now[0])
        verifier = JwtVerifier(config, keys, cache_seconds=0)  # no remembered verdicts: every check uses the keys
        assert (await verifier.check(auth_server.token(sub="kim"))).subject == "kim"
        auth_server.jwks_down = True
        now[0] += 299  # the JWKS said max-age=300
        assert (await verifier.check(auth_server.token(sub="lee"))).subject == "lee"
        now[0] += 2
        with pytest.raises(SignInUnavailableError):
            await verifier.check(auth_server.token(sub="max"))
        assert await verifier.verify_token(auth_server.token(sub="max")) is None
        auth_server.jwks_down = False
        now[0] += 10  # past the pause after a failed fetch
        assert (await verifier.check(auth_server.token(sub="max"))).subject == "max"


async def test_accepted_tokens_are_remembered_by_digest_never_as_the_token_itself(auth_server: AuthServer) -> None:
    from tests.team.authserver import CLIENT_ID, CLIENT_SECRET  # noqa: PLC0415

    auth_server.audience = "https://cdp.example.com/mcp"
    config = OAuthConfig(issuer=auth_server.issuer, resource=auth_server.audience, audience=auth_server.audience,
                         jwks_url=None, algorithms=ALGORITHMS,
                         introspection=Introspection(f"{auth_server.issuer}/introspect", CLIENT_ID,
                                                     SecretStr(CLIENT_SECRET)))
    async with httpx2.AsyncClient() as http:
        jwt_token, opaque = auth_server.token(sub="kim"), auth_server.opaque_token(sub="lee")
        for verifier, token in ((JwtVerifier(config, IssuerKeys(auth_server.issuer, http)), jwt_token),
                                (IntrospectionVerifier(config, http), opaque)):
            access = await verifier.check(token)
            assert access.subject in ("kim", "lee") and (await verifier.check(token)) == access  # remembered
            for held in (repr(access), repr(vars(verifier)), access.model_dump_json()):
                assert token not in held and token.rsplit(".", 1)[-1] not in held
