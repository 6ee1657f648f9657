"""The OAuth resource-server configuration: checked at start-up (naming the variable), then one record.

`check_team_settings` runs inside `Settings` validation, so a half-configured sign-in never starts: the
issuer without the public URL, the static token and OAuth together, an introspection endpoint without its
client credentials, an OAuth variable without the issuer (which would silently serve unauthenticated), a
plain-http URL off loopback, or an algorithm that is not an asymmetric signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import SecretStr

from cdp_mcp.listening import is_loopback

if TYPE_CHECKING:
    from cdp_mcp.settings import Settings

__all__ = ["ALGORITHMS", "MCP_PATH", "Introspection", "OAuthConfig", "check_team_settings", "is_loopback_url"]

MCP_PATH = "/mcp"
"""Where the Streamable HTTP endpoint is served; the protected resource is `{CDP_MCP_PUBLIC_URL}/mcp`."""
ALGORITHMS: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                               "EdDSA")
"""Asymmetric signatures only: `none` proves nothing and HS* would let anyone holding the public key sign."""
_URL_SETTINGS = ("mcp_public_url", "mcp_oauth_issuer", "mcp_oauth_jwks_url", "mcp_oauth_introspection_url")
_NEEDS_ISSUER = ("mcp_oauth_audience", "mcp_oauth_jwks_url", "mcp_oauth_introspection_url", "mcp_oauth_client_id",
                 "mcp_oauth_client_secret", "mcp_oauth_algorithms")


def _env(name: str) -> str:
    return f"CDP_{name.upper()}"


def _text(value: object) -> str | None:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(raw, list):
        return ",".join(raw) or None
    return raw.strip() or None if isinstance(raw, str) else None


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is this machine (http is acceptable there: OAuth 2.1 allows it)."""
    return is_loopback(urlsplit(url).hostname or "")


def _url_problem(name: str, url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{_env(name)} must be an https:// URL with a host"
    if parts.scheme == "http" and not is_loopback_url(url):
        return f"{_env(name)} must use https:// (plain http only on loopback)"
    if parts.fragment or parts.username or parts.password:
        return f"{_env(name)} must not carry user-info or a fragment"
    if name in ("mcp_public_url", "mcp_oauth_issuer") and parts.query:
        return f"{_env(name)} must not carry a query string"
    if name == "mcp_public_url" and parts.path.rstrip("/").endswith(MCP_PATH):
        return f"{_env(name)} is the server's base URL, without {MCP_PATH} (cdp-mcp serves {MCP_PATH} below it)"
    return None


def check_team_settings(settings: Settings) -> None:
    """Raise ValueError naming each variable of an incomplete or unsafe sign-in configuration."""
    problems = [p for name in _URL_SETTINGS if (url := _text(getattr(settings, name)))
                for p in [_url_problem(name, url)] if p]
    if _text(settings.mcp_oauth_issuer) is None:
        problems += [f"{_env(name)} is set but CDP_MCP_OAUTH_ISSUER is not: set the issuer to turn sign-in on, or "
                     f"unset {_env(name)}" for name in _NEEDS_ISSUER if _text(getattr(settings, name))]
    else:
        if _text(settings.mcp_auth_token):
            problems.append("CDP_MCP_OAUTH_ISSUER and CDP_MCP_AUTH_TOKEN are exclusive: unset CDP_MCP_AUTH_TOKEN "
                            "for per-person sign-in, or the issuer for one shared token")
        if not _text(settings.mcp_public_url):
            problems.append("CDP_MCP_PUBLIC_URL is required with CDP_MCP_OAUTH_ISSUER: the base URL clients reach "
                            "this server at, e.g. https://cdp-mcp.example.com (tokens must be issued for "
                            "{CDP_MCP_PUBLIC_URL}/mcp)")
        if _text(settings.mcp_oauth_introspection_url):
            problems += [f"{_env(name)} is required with CDP_MCP_OAUTH_INTROSPECTION_URL"
                         for name in ("mcp_oauth_client_id", "mcp_oauth_client_secret")
                         if not _text(getattr(settings, name))]
        refused = sorted(set(settings.mcp_oauth_algorithms or ()) - set(ALGORITHMS))
        if refused:
            problems.append(f"CDP_MCP_OAUTH_ALGORITHMS names {', '.join(refused)}: only asymmetric signatures are "
                            f"accepted ({', '.join(ALGORITHMS)})")
    if problems:
        raise ValueError("; ".join(problems))


@dataclass(frozen=True, slots=True)
class Introspection:
    """An RFC 7662 endpoint and this server's client credentials there."""

    url: str
    client_id: str
    client_secret: SecretStr


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    """Everything the resource server needs, normalised (no trailing slashes, defaults applied)."""

    issuer: str
    resource: str
    audience: str
    jwks_url: str | None
    introspection: Introspection | None
    algorithms: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthConfig | None:
        """The configuration, or None when sign-in is off (settings validation already checked it)."""
        issuer = _text(settings.mcp_oauth_issuer)
        public = _text(settings.mcp_public_url)
        if issuer is None or public is None:
            return None
        resource = public.rstrip("/") + MCP_PATH
        introspection = None
        url, client_id = _text(settings.mcp_oauth_introspection_url), _text(settings.mcp_oauth_client_id)
        if url and client_id and settings.mcp_oauth_client_secret is not None:
            introspection = Introspection(url, client_id, settings.mcp_oauth_client_secret)
        return cls(issuer=issuer, resource=resource, audience=_text(settings.mcp_oauth_audience) or resource,
                   jwks_url=_text(settings.mcp_oauth_jwks_url), introspection=introspection,
                   algorithms=tuple(settings.mcp_oauth_algorithms or ALGORITHMS))
