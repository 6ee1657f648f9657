"""Per-person OAuth sign-in: its settings, checked at start-up (naming the variable), then one normalised record.

A half-configured sign-in never starts: the issuer without the public URL, an introspection endpoint without
its client credentials, a sign-in variable without the issuer (which would silently serve unauthenticated, or
name a principal claim or scope prefix nothing reads), a plain-http URL off loopback, or an algorithm that is
not an asymmetric signature. (The issuer together with the static CDP_MCP_AUTH_TOKEN is refused by `Settings`,
which sees both.) `SignInConfig.oauth()` is what the resource server, the verifiers and doctor read.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from cdp_mcp.grants import SCOPE_PREFIX
from cdp_mcp.settings.fields import CommaList, ConfigGroup, env_name
from cdp_mcp.settings.groups import MCP_PATH
from cdp_mcp.settings.urls import url_problem

__all__ = ["ALGORITHMS", "DEFAULT_JWKS_MAX_AGE", "DEFAULT_PRINCIPAL_CLAIM", "Introspection", "OAuthConfig",
           "SignInConfig"]

ALGORITHMS: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                               "EdDSA")
"""Asymmetric signatures only: `none` proves nothing and HS* would let anyone holding the public key sign."""
_NEEDS_ISSUER = ("mcp_oauth_audience", "mcp_oauth_jwks_url", "mcp_oauth_introspection_url", "mcp_oauth_client_id",
                 "mcp_oauth_client_secret", "mcp_oauth_algorithms", "mcp_oauth_principal_claim",
                 "mcp_oauth_jwks_max_age", "mcp_scope_prefix")
DEFAULT_PRINCIPAL_CLAIM = "sub"
"""The claim that names the person in audit lines and rate limits (CDP_MCP_OAUTH_PRINCIPAL_CLAIM)."""
DEFAULT_JWKS_MAX_AGE = 600
"""Seconds the issuer's signing keys are kept when it states no cache lifetime (CDP_MCP_OAUTH_JWKS_MAX_AGE)."""


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
    principal_claim: str = DEFAULT_PRINCIPAL_CLAIM
    jwks_max_age: int = DEFAULT_JWKS_MAX_AGE
    scope_prefix: str = SCOPE_PREFIX


class SignInConfig(ConfigGroup):
    """Per-person OAuth sign-in over HTTP: the issuer whose access tokens are accepted, and this server's place."""

    mcp_public_url: str | None = Field(None, description="Public base URL of the HTTP server; resource {url}/mcp")
    mcp_oauth_issuer: str | None = Field(None, description="OAuth issuer whose access tokens sign people in")
    mcp_oauth_audience: str | None = Field(None, description="Audience tokens must name (default: the resource)")
    mcp_oauth_jwks_url: str | None = Field(None, description="JWKS URL (default: discovered from the issuer)")
    mcp_oauth_introspection_url: str | None = Field(None, description="RFC 7662 endpoint for opaque tokens")
    mcp_oauth_client_id: str | None = Field(None, description="This server's client id at the introspection "
                                                              "endpoint")
    mcp_oauth_client_secret: SecretStr | None = Field(None, description="Its client secret there")
    mcp_oauth_algorithms: CommaList = Field(
        None, description="Signature algorithms accepted (default RS*, PS*, ES*, EdDSA; never none or HS*)")
    mcp_scope_prefix: str = Field(SCOPE_PREFIX, pattern=r'^[^\s"\\,]{1,200}$',
                                  description="What the scope names hosts see start with: cdp: (cdp:read), cdp., "
                                              "api://<app>/cdp.")
    mcp_oauth_principal_claim: str = Field(DEFAULT_PRINCIPAL_CLAIM, pattern=r'^[^\s"\\]{1,200}$',
                                           description="Claim naming the person in audit lines and rate limits")
    mcp_oauth_jwks_max_age: int = Field(DEFAULT_JWKS_MAX_AGE, ge=60, le=86400,
                                        description="Seconds signing keys are kept when the issuer states no lifetime")

    @field_validator("mcp_public_url", "mcp_oauth_issuer")
    @classmethod
    def _identifier_url(cls, value: str | None) -> str | None:
        return _checked(value, query=False)

    @field_validator("mcp_oauth_jwks_url", "mcp_oauth_introspection_url")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        return _checked(value, query=True)

    @field_validator("mcp_public_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).path.rstrip("/").endswith(MCP_PATH):
            raise ValueError(f"is the server's base URL, without {MCP_PATH} (cdp-mcp serves {MCP_PATH} below it)")
        return value

    @field_validator("mcp_oauth_audience", "mcp_oauth_client_id")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _complete(self) -> SignInConfig:
        """Each variable of an incomplete sign-in configuration, named."""
        problems = []
        if self.mcp_oauth_issuer is None:
            problems += [f"{env_name(key)} is set but {env_name('mcp_oauth_issuer')} is not: set the issuer to turn "
                         f"sign-in on, or unset {env_name(key)}" for key in _NEEDS_ISSUER
                         if key in self.model_fields_set]
        else:
            if self.mcp_public_url is None:
                problems.append(f"{env_name('mcp_public_url')} is required with {env_name('mcp_oauth_issuer')}: the "
                                "base URL clients reach this server at, e.g. https://cdp-mcp.example.com (tokens "
                                f"must be issued for {{{env_name('mcp_public_url')}}}{MCP_PATH})")
            if self.mcp_oauth_introspection_url:
                problems += [f"{env_name(key)} is required with {env_name('mcp_oauth_introspection_url')}"
                             for key in ("mcp_oauth_client_id", "mcp_oauth_client_secret") if not getattr(self, key)]
            refused = sorted(set(self.mcp_oauth_algorithms or ()) - set(ALGORITHMS))
            if refused:
                problems.append(f"{env_name('mcp_oauth_algorithms')} names {', '.join(refused)}: only asymmetric "
                                f"signatures are accepted ({', '.join(ALGORITHMS)})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def enabled(self) -> bool:
        """People sign in with OAuth (CDP_MCP_OAUTH_ISSUER set): grants by scope, audit on by default."""
        return self.mcp_oauth_issuer is not None

    def oauth(self) -> OAuthConfig | None:
        """The normalised configuration, or None when sign-in is off."""
        issuer, public = self.mcp_oauth_issuer, self.mcp_public_url
        if issuer is None or public is None:
            return None
        resource = public.rstrip("/") + MCP_PATH
        introspection = None
        url, client_id = self.mcp_oauth_introspection_url, self.mcp_oauth_client_id
        if url and client_id and self.mcp_oauth_client_secret is not None:
            introspection = Introspection(url, client_id, self.mcp_oauth_client_secret)
        return OAuthConfig(issuer=issuer, resource=resource, audience=self.mcp_oauth_audience or resource,
                           jwks_url=self.mcp_oauth_jwks_url, introspection=introspection,
                           algorithms=tuple(self.mcp_oauth_algorithms or ALGORITHMS),
                           principal_claim=self.mcp_oauth_principal_claim, jwks_max_age=self.mcp_oauth_jwks_max_age,
                           scope_prefix=self.mcp_scope_prefix)


def _checked(value: str | None, *, query: bool) -> str | None:
    if value is None:
        return None
    value = value.strip()
    problem = url_problem(value, plain_http="loopback", query=query)
    if problem:
        raise ValueError(problem)
    return value
