"""`cdp-mcp doctor` on a team deployment: the issuer, its keys, the audience, the introspection credentials
and the Redis connection are checked for real, and each failure says what to fix."""

from __future__ import annotations

import pytest

from cdp_mcp import __version__
from cdp_mcp.cli import main
from cdp_mcp.commands.doctor import Report
from cdp_mcp.commands.doctor_deployment import check_deployment
from cdp_mcp.errors import SignInUnavailableError
from cdp_mcp.settings import Settings
from cdp_mcp.sign_in.http_auth import ResourceServer
from tests.broker.test_redis_store import RedisServer, redis_server
from tests.helpers import free_port
from tests.team.authserver import CLIENT_ID, AuthServer

__all__ = ["redis_server"]

pytestmark = pytest.mark.anyio


def test_doctor_reports_the_issuer_keys_audience_and_redis(
    cdp_env: dict[str, str], auth_server: AuthServer, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in {"CDP_MCP_OAUTH_ISSUER": auth_server.issuer, "CDP_MCP_PUBLIC_URL": "https://cdp.example.com",
                       "CDP_REDIS_URL": redis_server.url}.items():
        monkeypatch.setenv(key, value)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"issuer {auth_server.issuer} answers" in out and "1 signing key(s) found" in out
    assert "tokens must name audience https://cdp.example.com/mcp" in out
    assert "rate limit: 120 tool calls a minute per person" in out and "audit trail: " in out
    assert f"Redis at redis://127.0.0.1:{redis_server.port}/0 answers" in out
    assert redis_server.password not in out
    assert auth_server.user_agents == {f"cdp-mcp/{__version__}"}  # as the server's own requests say
    assert "loopback only" not in out  # with sign-in, any address may serve: people sign in
    assert "people sign in with OAuth" in out
    assert "scopes: cdp:profile cdp:consent cdp:commerce cdp:marketing cdp:read cdp:pii" in out
    assert "people are named by their tokens' sub claim" in out


async def test_doctor_judges_the_issuer_as_the_server_does_following_no_redirect(
    cdp_env: dict[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    moved = AuthServer(discovery_moved=True).start()
    try:
        settings = Settings.load(mcp_oauth_issuer=moved.issuer, mcp_public_url="https://cdp.example.com")
        report = Report()
        await check_deployment(settings, report)
        out = capsys.readouterr().out
        oauth = settings.sign_in.oauth()
        assert oauth is not None
        server = ResourceServer(oauth)
        async with server.running():
            with pytest.raises(SignInUnavailableError, match="HTTP 302"):
                await server.keys.discover()
    finally:
        moved.stop()
    assert report.failed and "answered HTTP 302" in out and "fix: check CDP_MCP_OAUTH_ISSUER" in out


async def test_doctor_says_what_to_fix_when_the_issuer_credentials_or_redis_fail(
    cdp_env: dict[str, str], auth_server: AuthServer, capsys: pytest.CaptureFixture[str],
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    cases = [
        ({"mcp_oauth_issuer": dead}, "fix: check CDP_MCP_OAUTH_ISSUER"),
        ({"mcp_oauth_issuer": auth_server.issuer, "mcp_oauth_introspection_url": f"{auth_server.issuer}/introspect",
          "mcp_oauth_client_id": CLIENT_ID, "mcp_oauth_client_secret": "not-the-secret-0123456789"},
         "fix: check CDP_MCP_OAUTH_CLIENT_ID and CDP_MCP_OAUTH_CLIENT_SECRET"),
        ({"redis_url": f"redis://127.0.0.1:{free_port()}/0"}, "fix: check CDP_REDIS_URL"),
        ({"redis_url": "redis://cdp:hunter2-secret@127.0.0.1:notaport/0"}, "CDP_REDIS_URL is not a valid Redis URL"),
    ]
    for overrides, hint in cases:
        report = Report()
        settings = Settings.load(mcp_public_url="https://cdp.example.com", **overrides)
        await check_deployment(settings, report)
        out = capsys.readouterr().out
        assert report.failed and hint in out and "hunter2" not in out


@pytest.mark.parametrize(("issued", "configured", "difference"), [
    ("with", "without", "lacks the trailing slash"), ("without", "with", "has a trailing slash"),
])
async def test_doctor_says_how_the_configured_issuer_differs_from_the_issuers_own(
    cdp_env: dict[str, str], capsys: pytest.CaptureFixture[str], issued: str, configured: str, difference: str,
) -> None:
    idp = AuthServer(trailing_slash=issued == "with").start()
    try:
        settings = Settings.load(mcp_oauth_issuer=idp.base + ("/" if configured == "with" else ""),
                                 mcp_public_url="https://cdp.example.com")
        report = Report()
        await check_deployment(settings, report)
    finally:
        idp.stop()
    out = capsys.readouterr().out
    assert report.failed and difference in out and f"fix: set CDP_MCP_OAUTH_ISSUER={idp.issuer} exactly" in out
    assert "1 signing key(s) found" in out  # tokens are still checked: only hosts comparing exactly would fail


async def test_doctor_names_both_issuers_when_the_metadata_is_for_another(
    cdp_env: dict[str, str], auth_server: AuthServer, capsys: pytest.CaptureFixture[str],
) -> None:
    auth_server.announced_issuer = "https://login.other.example"
    report = Report()
    settings = Settings.load(mcp_oauth_issuer=auth_server.issuer, mcp_public_url="https://cdp.example.com")
    await check_deployment(settings, report)
    out = capsys.readouterr().out
    assert report.failed and f"names issuer https://login.other.example, not {auth_server.issuer}" in out
