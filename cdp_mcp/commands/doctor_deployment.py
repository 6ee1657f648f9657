"""`cdp-mcp doctor` checks for a team deployment: the sign-in configuration and the Redis connection.

Kept apart from `commands/doctor.py`, which calls `check_deployment(settings, report)` once: with
CDP_MCP_OAUTH_ISSUER set it reaches the issuer's metadata, fetches its signing keys (or asks the
introspection endpoint about a token that cannot exist, which proves the client credentials), and states the
resource and audience tokens must name; with CDP_REDIS_URL set it pings Redis. Each failure says what to fix.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Protocol

import httpx2

from cdp_mcp.access.audit import audit_destination
from cdp_mcp.access.caller import MACHINE_PREFIX
from cdp_mcp.access.ratelimit import effective_rate_limit
from cdp_mcp.errors import ConfigurationError, SignInUnavailableError
from cdp_mcp.grants import SCOPES_SUPPORTED, advertised
from cdp_mcp.redis_connection import redis_client, redis_location
from cdp_mcp.settings import OAuthConfig
from cdp_mcp.sign_in.keys import IssuerKeys, idp_client
from cdp_mcp.sign_in.verifiers import credentials_refused

if TYPE_CHECKING:
    from cdp_mcp.settings import Settings

__all__ = ["Reporter", "check_deployment"]

_REDIS_TIMEOUT = 5.0


class Reporter(Protocol):
    """What doctor's report offers (commands/doctor.Report)."""

    def ok(self, text: str) -> None: ...

    def info(self, text: str) -> None: ...

    def fail(self, text: str, hint: str = "") -> None: ...

    def section(self, title: str) -> None: ...


async def check_deployment(settings: Settings, report: Reporter) -> None:
    """The sign-in and Redis sections of the report (nothing when neither is configured)."""
    config = settings.sign_in.oauth()
    if config is not None:
        report.section("Sign-in (OAuth)")
        await _check_oauth(config, report)
        destination = audit_destination(settings)
        report.info(f"audit trail: {'off' if destination is None else 'stderr' if destination == '-' else destination}")
        limit = effective_rate_limit(settings)
        report.info(f"rate limit: {f'{limit} tool calls a minute per person' if limit else 'off'}")
    if settings.state.redis_url is not None:
        report.section("Redis")
        await _check_redis(settings, report)


async def _check_oauth(config: OAuthConfig, report: Reporter) -> None:
    report.info(f"protected resource: {config.resource} (tokens must name audience {config.audience})")
    report.info(f"scopes: {' '.join(advertised(s, config.scope_prefix) for s in SCOPES_SUPPORTED)}")
    report.info(f"people are named by their tokens' {config.principal_claim} claim in audit lines and rate limits "
                f"(a token without a person: {MACHINE_PREFIX}<client id>)")
    async with idp_client() as http:
        keys = IssuerKeys.for_config(config, http)
        if config.jwks_url is None or config.introspection is None:
            try:
                metadata = await keys.discover()
                report.ok(f"issuer {config.issuer} answers with its metadata")
                _check_issuer_spelling(config.issuer, str(metadata.get("issuer")), report)
            except SignInUnavailableError as exc:
                if config.jwks_url is None:
                    report.fail(f"issuer not usable: {exc}",
                                "check CDP_MCP_OAUTH_ISSUER (exactly the `iss` your tokens carry) and that this "
                                "machine reaches it; or set CDP_MCP_OAUTH_JWKS_URL")
                    return
        if config.introspection is not None:
            await _check_introspection(config, http, report)
            return
        try:
            count = await keys.refresh()
        except SignInUnavailableError as exc:
            report.fail(f"signing keys not found: {exc}", "check the issuer's jwks_uri or CDP_MCP_OAUTH_JWKS_URL")
            return
        if count == 0:
            report.fail("the issuer publishes no signing keys", "check CDP_MCP_OAUTH_JWKS_URL")
        else:
            report.ok(f"{count} signing key(s) found at {await keys.jwks_url()}")


def _check_issuer_spelling(configured: str, announced: str, report: Reporter) -> None:
    """Tokens verify either way, but MCP hosts compare the issuer the protected resource metadata advertises (the
    configured one) with the metadata's own exactly (RFC 8414 3.3), so a difference must be fixed here."""
    if configured == announced:
        return
    if announced == configured + "/":
        how = "lacks the trailing slash of"
    elif configured == announced + "/":
        how = "has a trailing slash not in"
    else:
        how = "is not spelt exactly as"
    report.fail(f"CDP_MCP_OAUTH_ISSUER {configured} {how} the issuer's own identifier {announced}: tokens are "
                "accepted, but MCP hosts compare the issuer this server advertises with the issuer's own exactly",
                f"set CDP_MCP_OAUTH_ISSUER={announced} exactly")


async def _check_introspection(config: OAuthConfig, http: httpx2.AsyncClient, report: Reporter) -> None:
    endpoint = config.introspection
    assert endpoint is not None
    try:
        response = await http.post(endpoint.url, data={"token": secrets.token_urlsafe(24)},
                                   auth=(endpoint.client_id, endpoint.client_secret.get_secret_value()))
    except httpx2.HTTPError as exc:
        report.fail(f"cannot reach the introspection endpoint ({type(exc).__name__})",
                    "check CDP_MCP_OAUTH_INTROSPECTION_URL and that this machine reaches it")
        return
    if credentials_refused(response):
        report.fail(f"the introspection endpoint refused this server's credentials (HTTP {response.status_code})",
                    "check CDP_MCP_OAUTH_CLIENT_ID and CDP_MCP_OAUTH_CLIENT_SECRET")
    elif response.status_code != 200:
        report.fail(f"the introspection endpoint answered HTTP {response.status_code}",
                    "check CDP_MCP_OAUTH_INTROSPECTION_URL")
    else:
        report.ok(f"introspection endpoint {endpoint.url} accepts this server's credentials")


async def _check_redis(settings: Settings, report: Reporter) -> None:
    assert settings.state.redis_url is not None
    where = redis_location(settings.state.redis_url)
    try:
        client, _ = redis_client(settings.state.redis_url, timeout=_REDIS_TIMEOUT)
    except ConfigurationError as exc:
        report.fail(exc.message, exc.hint or "")
        return
    started = time.perf_counter()
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach Redis is reported the same way
        report.fail(f"Redis at {where} does not answer ({type(exc).__name__})",
                    "check CDP_REDIS_URL (host, port, password; rediss:// for TLS) and that Redis is up")
        return
    finally:
        await client.aclose()
    report.ok(f"Redis at {where} answers (PING in {(time.perf_counter() - started) * 1000:.0f} ms); "
              f"keys under {settings.state.redis_key_prefix}:")
