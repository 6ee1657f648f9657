"""Configuration from `CDP_*` environment variables and an optional `.env`; secrets stay `SecretStr`.

`Settings.load()` turns validation failures into one `ConfigurationError` that names each bad setting
and says how to fix it, so a misconfigured host fails at start-up with a readable line on stderr.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cdp_mcp.catalog import RESOURCE_NAMES
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.sanitizer import DEFAULT_MAX_FIELD_CHARS
from cdp_mcp.team.config import check_team_settings

__all__ = ["SANDBOX_TENANT_HASH", "Settings", "TokenPolicy", "UntrustedMode", "ValidityUnit", "default_state_dir"]

ValidityUnit = Literal["minutes", "seconds"]
TokenPolicy = Literal["least-privilege", "shared"]
UntrustedMode = Literal["sanitize", "omit"]

SANDBOX_TENANT_HASH = "sandbox0tenant0hash0000000000001"
"""The embedded sandbox's tenant hash (32 characters): not a secret, the same for every newcomer."""


def default_state_dir() -> Path:
    """The platform's user state directory for cdp-mcp: token cache, creation ledger, the embedded sandbox's
    database, and with sign-in the audit trail (audit.jsonl) and its key (audit.key)."""
    return Path(platformdirs.user_state_dir("cdp-mcp", appauthor=False))


_REDIS_SCHEMES = ("redis", "rediss", "unix")

_PLACEHOLDER = re.compile(r"\$\{user_config\.[^}]*\}")


def _unset(value: object) -> bool:
    """Blank, or a placeholder the host left unfilled (a SecretStr judged by what it holds)."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    return isinstance(raw, str) and (not raw.strip() or _PLACEHOLDER.fullmatch(raw.strip()) is not None)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()] or None
    return value


class Settings(BaseSettings):
    """All of cdp-mcp's settings. Unset `b2b_api_url` means the embedded sandbox."""

    model_config = SettingsConfigDict(env_prefix="CDP_", env_file=".env", extra="ignore", frozen=True)

    b2b_api_url: str | None = Field(None, description="Base URL with context path, e.g. https://host/rcdpapi")
    token_api_url: str | None = Field(
        None, description="Base URL of the token endpoints when the customer success manager gave another one")
    tenant_hash: SecretStr | None = Field(None, description="The tenant hash, from your account team")
    oauth_key_secret: SecretStr | None = Field(None, description="OAuth key secret, when the tenant enables OAuth")
    token_validity: int = Field(600, gt=0, description="Validity requested for each token, in token_validity_unit")
    token_validity_unit: ValidityUnit = "minutes"
    token_daily_limit: int = Field(100, gt=0, description="The tenant's daily token creation limit")
    token_policy: TokenPolicy = "least-privilege"
    state_dir: Path = Field(default_factory=default_state_dir,
                            description="Token cache, creation ledger, sandbox database, audit trail and its key")
    redis_url: SecretStr | None = Field(
        None, description="redis:// or rediss:// URL: replicas on several machines share token state there")
    redis_key_prefix: str = Field("cdp-mcp", pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                                  description="Prefix of the Redis keys of the token state")
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    call_timeout: float = Field(30.0, gt=0, description="Seconds a tool call may take; then its requests are cancelled")
    max_retries: int = Field(3, ge=0, le=10, description="Retries of a safe read on connection errors, 5xx, 429")
    retry_budget: float = Field(20.0, gt=0, description="Seconds all retries of one call may take together")
    redact_pii: bool = Field(False, description="Mask email, mobile, address and birth date in results")
    untrusted: UntrustedMode = Field(
        "sanitize", description="Customer-written text in results: sanitized and labelled, or left out (omit)")
    max_field_chars: int = Field(DEFAULT_MAX_FIELD_CHARS, ge=20, le=1_000_000,
                                 description="Characters of one customer-written value a result carries")
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$",
        description="The tenant's ISO 4217 currency, for amounts the API gives as bare numbers (else learnt)",
    )
    tools: Annotated[list[str] | None, NoDecode] = Field(None, description="Allowlist of tool names")
    resources: Annotated[list[str] | None, NoDecode] = Field(None, description="Resources the tenant grants")
    mcp_auth_token: SecretStr | None = Field(None, description="Bearer token required by the HTTP transport")
    mcp_allowed_origins: Annotated[list[str] | None, NoDecode] = Field(
        None, description="Browser Origins the HTTP transport accepts besides loopback ones")
    sandbox_customers: int = Field(1000, ge=17, le=1_000_000, description="Size of the embedded sandbox tenant")
    sandbox_seed: int = 7
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Team deployment over HTTP (cdp_mcp/team): per-person OAuth sign-in, audit trail, rate limits.
    mcp_public_url: str | None = Field(None, description="Public base URL of the HTTP server; resource {url}/mcp")
    mcp_oauth_issuer: str | None = Field(None, description="OAuth issuer whose access tokens sign people in")
    mcp_oauth_audience: str | None = Field(None, description="Audience tokens must name (default: the resource)")
    mcp_oauth_jwks_url: str | None = Field(None, description="JWKS URL (default: discovered from the issuer)")
    mcp_oauth_introspection_url: str | None = Field(None, description="RFC 7662 endpoint for opaque tokens")
    mcp_oauth_client_id: str | None = Field(None, description="This server's client id at the introspection endpoint")
    mcp_oauth_client_secret: SecretStr | None = Field(None, description="Its client secret there")
    mcp_oauth_algorithms: Annotated[list[str] | None, NoDecode] = Field(
        None, description="Signature algorithms accepted (default RS*, PS*, ES*, EdDSA; never none or HS*)")
    mcp_rate_limit: int | None = Field(None, ge=0, description="Tool calls per minute per person (0: off)")
    audit_log: str | None = Field(None, description="Audit trail: a file path, - for stderr, off")
    audit_key: SecretStr | None = Field(None, description="Key of the identifier hashes in audit lines")

    @model_validator(mode="before")
    @classmethod
    def _drop_unset_values(cls, data: object) -> object:
        # Empty means unset: hosts fill optional fields left blank with "" (and an MCP Bundle host may leave
        # `${user_config.KEY}` in place), which must neither stop start-up nor override a default. A secret
        # handed over already wrapped (SecretStr) counts the same.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not _unset(v)}
        return data

    @field_validator("untrusted", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value  # `Omit` from a host's text field

    @field_validator("tools", "resources", "mcp_allowed_origins", "mcp_oauth_algorithms", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("b2b_api_url", "token_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, has_scheme, _ = value.strip().partition("://")
        value = value.strip().rstrip("/")
        parts = urlsplit(value if has_scheme else f"https://{value}")
        if "@" in parts.netloc or parts.query or parts.fragment:
            # httpx2 logs request URLs: credentials travel in headers only (CDP_TENANT_HASH, ...). Not echoed.
            raise ValueError("must not carry user-info, a query or a fragment: keep only https://host/context-path")
        if has_scheme and scheme.lower() not in ("https", "http"):
            raise ValueError(f"must start with https:// (or http:// for a test API on your network), not {scheme}://")
        if not has_scheme:
            raise ValueError(f"needs a scheme: use https://{value}")
        if not parts.hostname:
            raise ValueError("needs a host: use https://host/context-path")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        # The URL may carry a password: the message never echoes it.
        if value is not None and urlsplit(value.get_secret_value().strip()).scheme not in _REDIS_SCHEMES:
            raise ValueError(f"must start with {', '.join(s + '://' for s in _REDIS_SCHEMES)}")
        return value

    @field_validator("resources")
    @classmethod
    def _known_resources(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - RESOURCE_NAMES)
        if unknown:
            raise ValueError(f"unknown resource(s) {', '.join(unknown)}; known: {', '.join(sorted(RESOURCE_NAMES))}")
        return value

    @model_validator(mode="after")
    def _tenant_for_real_api(self) -> Settings:
        if self.b2b_api_url and self.tenant_hash is None:
            raise ValueError("CDP_TENANT_HASH is required when CDP_B2B_API_URL is set")
        if self.token_api_url and not self.b2b_api_url:
            raise ValueError("CDP_TOKEN_API_URL needs CDP_B2B_API_URL (the embedded sandbox serves its own tokens)")
        return self

    @model_validator(mode="after")
    def _team_deployment(self) -> Settings:
        check_team_settings(self)  # names the variable of an incomplete or unsafe OAuth configuration
        return self

    @property
    def oauth_enabled(self) -> bool:
        """People sign in with OAuth (CDP_MCP_OAUTH_ISSUER set): grants by scope, audit on by default."""
        return self.mcp_oauth_issuer is not None

    @property
    def uses_sandbox(self) -> bool:
        return self.b2b_api_url is None

    @property
    def request_deadline(self) -> float:
        """Seconds one upstream request may take in all, body included (httpx2's timeouts bound each read only)."""
        return self.connect_timeout + self.read_timeout

    @property
    def validity_seconds(self) -> int:
        return self.token_validity * (60 if self.token_validity_unit == "minutes" else 1)

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read the environment (and `.env`); raise `ConfigurationError` naming each bad setting."""
        try:
            return cls(**overrides)  # type: ignore[arg-type]
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                name = "CDP_" + str(err["loc"][0]).upper() if err["loc"] else "configuration"
                problems.append(f"{name} {err['msg'].removeprefix('Value error, ')}")
            raise ConfigurationError("Invalid configuration: " + "; ".join(problems),
                                     hint="Fix the environment variables (or .env) named above.") from None

