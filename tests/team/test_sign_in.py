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
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr

from cdp_mcp.cli import main
from cdp_mcp.errors import AccessTokenRejectedError, SignInUnavailableError
from cdp_mcp.grants import SCOPES_SUPPORTED
from cdp_mcp.http_app import HttpLimits
from cdp_mcp.settings import ALGORITHMS, Introspection, OAuthConfig, Settings
from cdp_mcp.sign_in.keys import IssuerKeys
from cdp_mcp.sign_in.verifiers import IntrospectionVerifier, JwtVerifier
from cdp_mcp.tools.registry import all_specs
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
    # RFC 6750 3.1: no error information without a token; the scope names the least a host should ask for
    assert _challenge(response) == (f'Bearer scope="cdp:read", resource_metadata="{shared_app.base}'
                                    f'/.well-known/oauth-protected-resource/mcp"')
    assert "Sign in" in response.json()["error_description"]  # a person with curl still reads what to do
    basic = await shared_app.post({"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401 and _challenge(basic) == _challenge(response)


async def test_two_authorization_headers_or_a_token_in_the_url_are_bad_requests(shared_app: Served) -> None:
    token = shared_app.idp.token()
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    base = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    assert (await shared_app.post({"Authorization": f"Bearer {token}"})).status_code == 200
    async with httpx2.AsyncClient() as http:
        for headers in ([("Authorization", f"Bearer {token}"), ("Authorization", "Bearer x.y.z")],
                        [("Authorization", "Bearer x.y.z"), ("Authorization", f"Bearer {token}")]):
            response = await http.post(shared_app.mcp, json=body, headers=[*base.items(), *headers])
            assert response.status_code == 400 and response.json()["error"] == "invalid_request"
        response = await http.post(f"{shared_app.mcp}?access_token={token}", json=body, headers=base)
        assert response.status_code == 400 and 'error="invalid_request"' in _challenge(response)
        assert token not in response.text
    assert shared_app.audit_lines() == []


def _hs256_with_public_key(idp: AuthServer) -> str:
    """The classic confusion attack: HMAC keyed with the issuer's public key, which anyone can fetch."""
    public = idp.keys[0].private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = (f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': idp.keys[0].kid})}."
                     f"{_b64(_claims(idp))}")
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _rsa() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _nested(depth: int) -> str:
    """JSON `depth` objects deep: Python's parser gives up on it with RecursionError, not ValueError."""
    return '{"a":' * depth + "1" + "}" * depth


def _nested_header(depth: int) -> str:
    return base64.urlsafe_b64encode(f'{{"alg":"ES256","x":{_nested(depth)}}}'.encode()).rstrip(b"=").decode()


def _signed_nested_claims(idp: AuthServer) -> str:
    """Claims nested deep, signed with the issuer's real key (the signature verifies; the claims cannot be read)."""
    claims = json.dumps(_claims(idp))[:-1] + f', "x": {_nested(1000)}}}'
    key = idp.keys[0]
    return jwt.api_jws.encode(claims.encode(), key.private, algorithm=key.alg, headers={"kid": key.kid})


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
    "ES384 claimed on an ES256 key": (lambda idp: idp.token(key=SigningKey(idp.keys[0].kid, "ES384",
                                                                           ec.generate_private_key(ec.SECP384R1()))),
                                      "algorithm does not match its signing key"),
    "RS256 claimed on an EC key": (lambda idp: idp.token(key=SigningKey(idp.keys[0].kid, "RS256", _rsa())),
                                   "algorithm does not match its signing key"),
    "an ID token (nonce)": (lambda idp: idp.token(nonce="n-0S6_WzA2Mj"), "an ID token, not an access token"),
    "an ID token (at_hash)": (lambda idp: idp.token(at_hash="77QmUPtjPfzWtF2AnpK9RQ"),
                              "an ID token, not an access token"),
    "malformed": (lambda idp: "not-a-jwt", "malformed"),
    "garbage segments": (lambda idp: "eyJ!!.e30.sig", "malformed"),
    "header nested 1,000 deep": (lambda idp: _nested_header(1000) + f".{_b64(_claims(idp))}.c2ln", "malformed"),
    "signed claims nested 1,000 deep": (_signed_nested_claims, "malformed"),
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


@pytest.mark.parametrize(("issued", "configured"), [("with", "without"), ("without", "with")])
async def test_an_issuer_is_the_same_with_or_without_its_trailing_slash(
    cdp_env: dict[str, str], tmp_path: Path, issued: str, configured: str,
) -> None:
    idp = AuthServer(trailing_slash=issued == "with").start()  # Auth0's issuers end in "/"
    try:
        issuer = idp.base + ("/" if configured == "with" else "")
        async with oauth_app(idp, tmp_path / "audit.jsonl", settings={"mcp_oauth_issuer": issuer}) as served:
            async with served.client(idp.token()) as client:
                assert len((await client.list_tools()).tools) == len(all_specs())
            for other in (f"{idp.base}/other", f"{idp.base}//", idp.base.replace("http:", "https:")):
                response = await served.post({"Authorization": f"Bearer {idp.token(iss=other)}"})
                assert response.status_code == 401 and "another issuer" in _challenge(response)
    finally:
        idp.stop()


async def test_once_the_issuer_types_its_access_tokens_an_untyped_token_is_refused(served: Served) -> None:
    """RFC 9068: access tokens carry typ at+jwt; an issuer that sets it sets it on all of them, so another typ
    from it is an ID token or another JWT it signed, never an access token for this server."""
    idp = served.idp
    untyped, id_like = idp.token(sub="kim"), idp.token(sub="kim", header={"typ": "JWT"})
    assert (await served.post({"Authorization": f"Bearer {untyped}"})).status_code == 200  # not typed yet: fine
    for typ in ("at+jwt", "application/at+JWT"):
        typed = idp.token(sub="lee", header={"typ": typ})
        assert (await served.post({"Authorization": f"Bearer {typed}"})).status_code == 200
    for token in (id_like, idp.token(sub="max")):
        response = await served.post({"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and "not typed at+jwt" in _challenge(response)


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
        assert len((await client.list_tools()).tools) == len(all_specs())
    fetches = idp.jwks_fetches
    idp.rotate()
    async with served.client(idp.token()) as client:  # new kid: one refetch, then accepted
        assert len((await client.list_tools()).tools) == len(all_specs())
    assert idp.jwks_fetches == fetches + 1
    response = await served.post({"Authorization": f"Bearer {old}"})  # cached keys were replaced by the refetch
    assert response.status_code == 401 and "does not publish" in _challenge(response)


async def test_keys_down_cached_keys_keep_serving_and_new_kids_are_refused_unchecked_never(served: Served) -> None:
    idp = served.idp
    async with served.client(idp.token()) as client:
        await client.list_tools()
    idp.jwks_down = True
    async with served.client(idp.token(sub="bob")) as client:  # known kid: the cache answers
        assert len((await client.list_tools()).tools) == len(all_specs())
    idp.rotate()
    response = await served.post({"Authorization": f"Bearer {idp.token()}"})  # only a fetch could tell
    assert response.status_code == 503 and 1 <= int(response.headers["retry-after"]) <= 5  # until the next try
    assert "cannot be checked right now" in response.json()["error_description"]


async def test_a_key_set_nested_too_deep_to_read_means_keys_unavailable_never_a_crash(served: Served) -> None:
    served.idp.jwks_text = f'{{"keys": [{_nested(1000)}]}}'
    response = await served.post({"Authorization": f"Bearer {served.idp.token()}"})
    assert response.status_code == 503 and "cannot be checked right now" in response.json()["error_description"]


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


@asynccontextmanager
async def _verifier_on_a_clock(idp: AuthServer) -> AsyncIterator[tuple[JwtVerifier, list[float]]]:
    """A JWT verifier for `idp` whose keys see the monotonic time `now[0]`, remembering no verdict (every check
    uses the keys)."""
    idp.audience = "https://cdp.example.com/mcp"
    config = OAuthConfig(issuer=idp.issuer, resource=idp.audience, audience=idp.audience, jwks_url=None,
                         introspection=None, algorithms=ALGORITHMS)
    now = [1000.0]
    async with httpx2.AsyncClient() as http:
        yield JwtVerifier(config, IssuerKeys(idp.issuer, http, clock=lambda: now[0]), cache_seconds=0), now


async def test_cached_keys_serve_until_they_expire_then_tokens_are_refused_unchecked_never(
    auth_server: AuthServer,
) -> None:
    async with _verifier_on_a_clock(auth_server) as (verifier, now):
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


def _introspecting(idp: AuthServer, secret: str | None = None) -> OAuthConfig:
    from tests.team.authserver import CLIENT_ID, CLIENT_SECRET  # noqa: PLC0415

    idp.audience = "https://cdp.example.com/mcp"
    return OAuthConfig(issuer=idp.issuer, resource=idp.audience, audience=idp.audience, jwks_url=None,
                       algorithms=ALGORITHMS, introspection=Introspection(f"{idp.issuer}/introspect", CLIENT_ID,
                                                                          SecretStr(secret or CLIENT_SECRET)))


@pytest.mark.parametrize(("status", "body", "refused"), [
    (400, {"error": "unsupported_token_type"}, True),  # e.g. a refresh token, or a token type it does not know
    (400, {"error": "invalid_request"}, True),
    (403, {"error": "access_denied"}, True),
    (404, {}, False),  # the endpoint is not there: CDP_MCP_OAUTH_INTROSPECTION_URL is wrong, not the token
    (429, {}, False),  # the issuer is busy: the token may well be fine
    (400, {"error": "invalid_client"}, False),
    (401, {"error": "invalid_client"}, False),
    (401, {}, False),  # RFC 6749 5.2: 401 is how client authentication fails
    (500, {"error": "server_error"}, False),
    (503, {}, False),
])
async def test_an_introspection_refusal_of_the_token_is_401_and_only_bad_credentials_blame_them(
    auth_server: AuthServer, caplog: pytest.LogCaptureFixture, status: int, body: dict[str, Any], refused: bool,
) -> None:
    caplog.set_level("INFO")
    auth_server.introspection_refusal = (status, body)
    async with httpx2.AsyncClient() as http:
        verifier = IntrospectionVerifier(_introspecting(auth_server), http)
        expected = AccessTokenRejectedError if refused else SignInUnavailableError
        with pytest.raises(expected):
            await verifier.check(auth_server.opaque_token())
    blames_credentials = "CDP_MCP_OAUTH_CLIENT_SECRET" in caplog.text
    assert blames_credentials == (body.get("error") == "invalid_client" or status == 401)
    assert ("CDP_MCP_OAUTH_INTROSPECTION_URL" in caplog.text) == (status == 404)


async def test_a_new_key_is_never_refused_as_401_whatever_kids_an_attacker_sends(auth_server: AuthServer) -> None:
    """The refetch cooldown is per unknown kid: one attacker's kid cannot block a rotation; while a kid cannot be
    settled (its cooldown, a flood of unknown kids, the issuer down), the answer is 'retry in N s', never 401."""
    async with _verifier_on_a_clock(auth_server) as (verifier, now):
        await verifier.check(auth_server.token())
        forged = auth_server.token(key=SigningKey.ec())
        with pytest.raises(AccessTokenRejectedError):  # the issuer, asked just now, does not publish that key
            await verifier.check(forged)
        now[0] += 1
        with pytest.raises(SignInUnavailableError) as again:  # asked a second ago: wait, do not hammer the issuer
            await verifier.check(forged)
        assert again.value.retry_after == pytest.approx(9)
        auth_server.rotate(keep_old=True)
        now[0] += 1
        assert (await verifier.check(auth_server.token(sub="kim"))).subject == "kim"  # rotation goes through
        fetches = auth_server.jwks_fetches
        for _ in range(8):  # a flood of random kids: a few refetches, then the issuer is spared
            now[0] += 0.01
            with pytest.raises((AccessTokenRejectedError, SignInUnavailableError)):
                await verifier.check(auth_server.token(key=SigningKey.ec()))
        assert auth_server.jwks_fetches - fetches <= 5
        auth_server.rotate(keep_old=True)
        now[0] += 0.01
        with pytest.raises(SignInUnavailableError) as flooded:  # a real new key during the flood: 503, not 401
            await verifier.check(auth_server.token(sub="lee"))
        assert 0 < flooded.value.retry_after <= 10
        now[0] += 10
        assert (await verifier.check(auth_server.token(sub="lee"))).subject == "lee"
        auth_server.jwks_down = True
        auth_server.rotate(keep_old=True)
        now[0] += 0.01
        with pytest.raises(SignInUnavailableError) as down:  # the issuer unreachable: 503 until the next try
            await verifier.check(auth_server.token(sub="max"))
        now[0] += 2
        with pytest.raises(SignInUnavailableError) as still:
            await verifier.check(auth_server.token(sub="max"))
        assert down.value.retry_after == pytest.approx(5) and still.value.retry_after == pytest.approx(3)
        auth_server.jwks_down = False
        now[0] += 3
        assert (await verifier.check(auth_server.token(sub="max"))).subject == "max"


@pytest.mark.parametrize(("configured", "kept"), [({}, 600), ({"mcp_oauth_jwks_max_age": "120"}, 120)])
async def test_keys_sent_without_a_lifetime_are_kept_for_the_jwks_max_age_at_most(
    cdp_env: dict[str, str], auth_server: AuthServer, configured: dict[str, str], kept: int,
) -> None:
    """A withdrawn key must stop working soon even when the issuer states no cache lifetime: 10 minutes by
    default (CDP_MCP_OAUTH_JWKS_MAX_AGE), not an hour."""
    auth_server.max_age = None
    settings = Settings.load(mcp_oauth_issuer=auth_server.issuer, mcp_public_url="https://cdp.example.com",
                             **configured)
    config = settings.sign_in.oauth()
    assert config is not None
    auth_server.audience = config.audience
    now = [1000.0]
    async with httpx2.AsyncClient() as http:
        verifier = JwtVerifier(config, IssuerKeys.for_config(config, http, clock=lambda: now[0]), cache_seconds=0)
        await verifier.check(auth_server.token())
        auth_server.jwks_down = True
        now[0] += kept - 1
        await verifier.check(auth_server.token())
        now[0] += 2
        with pytest.raises(SignInUnavailableError):
            await verifier.check(auth_server.token())


async def test_idle_get_streams_are_capped_per_person(cdp_env: dict[str, str], auth_server: AuthServer,
                                                      tmp_path: Path) -> None:
    """GET /mcp opens a stream this stateless server never writes to: each holds a connection and a task, so a
    person may hold a few, not thousands."""
    async with oauth_app(auth_server, tmp_path / "audit.jsonl", limits=HttpLimits(streams_per_principal=2)) as app:
        def get(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}", "Accept": "text/event-stream",
                    "MCP-Protocol-Version": "2025-06-18"}

        ada, bob = get(auth_server.token(sub="ada")), get(auth_server.token(sub="bob"))
        async with httpx2.AsyncClient(timeout=10) as http:
            async with AsyncExitStack() as held:
                for _ in range(2):
                    stream = await held.enter_async_context(http.stream("GET", app.mcp, headers=ada))
                    assert stream.status_code == 200
                third = await http.get(app.mcp, headers=ada)
                assert third.status_code == 429 and "streams" in third.json()["error_description"]
                assert int(third.headers["retry-after"]) > 0
                other = await held.enter_async_context(http.stream("GET", app.mcp, headers=bob))
                assert other.status_code == 200  # another person has their own allowance
            for _ in range(100):  # the server notices the closed streams (readiness, not timing)
                async with http.stream("GET", app.mcp, headers=ada) as again:
                    if again.status_code == 200:
                        break
                await anyio.sleep(0.05)
            assert again.status_code == 200
