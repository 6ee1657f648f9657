"""The one place that builds the pooled `httpx2.AsyncClient` every API call goes through.

Credentials never live on the client: `tenant_hash`, `oauth_key_secret` and `access_token` are added to each
request by the caller, so they cannot show up in the client's repr or in default-header dumps. URLs carry no
secret either (httpx2 logs request URLs), and redirects are not followed, because a redirect would carry the
credential headers to whatever host the `Location` names.
"""

from __future__ import annotations

import httpx2

from cdp_mcp.errors import ConfigurationError
from cdp_mcp.settings import Settings
from cdp_mcp.settings.urls import url_problem
from cdp_mcp.version import USER_AGENT

__all__ = ["make_http_client"]

_MAX_CONNECTIONS = 20
_MAX_KEEPALIVE = 10
_KEEPALIVE_EXPIRY = 30.0


def _checked_base_url(base_url: str) -> httpx2.URL:
    """Refuse base URLs that could smuggle a secret into logged URLs (user-info, query) or lack a scheme: the
    settings' own URL check, again where the client is made (it may be handed a URL that never was a setting)."""
    problem = url_problem(base_url, plain_http="anywhere")
    if problem is None:
        try:
            return httpx2.URL(base_url)
        except httpx2.InvalidURL:
            problem = "is not a valid URL"
    raise ConfigurationError(f"The API base URL {problem}.",
                             hint="Set CDP_B2B_API_URL (and CDP_TOKEN_API_URL) to https://host/context-path; "
                                  "credentials go in CDP_TENANT_HASH.")


def make_http_client(
    settings: Settings,
    *,
    base_url: str,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> httpx2.AsyncClient:
    """A pooled client for `base_url` with the timeouts from settings.

    Args:
        settings: read for `connect_timeout` and `read_timeout`.
        base_url: the API base including its context path (the sandbox's URL when running embedded).
        transport: a test seam (`httpx2.ASGITransport`, `httpx2.MockTransport`); None for real sockets.

    Raises:
        ConfigurationError: the base URL has no scheme/host, or carries user-info, a query or a fragment.
    """
    url = _checked_base_url(base_url)
    timeout = httpx2.Timeout(
        connect=settings.requests.connect_timeout,
        read=settings.requests.read_timeout,
        write=settings.requests.read_timeout,
        pool=settings.requests.connect_timeout,
    )
    limits = httpx2.Limits(
        max_connections=_MAX_CONNECTIONS,
        max_keepalive_connections=_MAX_KEEPALIVE,
        keepalive_expiry=_KEEPALIVE_EXPIRY,
    )
    return httpx2.AsyncClient(
        base_url=url,
        headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        timeout=timeout,
        limits=limits,
        transport=transport,
        follow_redirects=False,
    )
