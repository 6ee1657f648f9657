"""The config objects, one per concern: each field is one setting, declared here once (see `fields.py`).

`Settings` (settings.py) is made of these and of `SignInConfig` (sign_in.py). A component reads the object of
its concern: the client `settings.api` and `settings.requests`, the broker `settings.tokens` and `settings.state`,
and so on. A check that needs two settings of one concern lives on its object; one across concerns on `Settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator

from cdp_mcp.catalog import RESOURCE_NAMES, TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH
from cdp_mcp.sanitizer import DEFAULT_MAX_FIELD_CHARS
from cdp_mcp.settings.fields import CommaList, ConfigGroup, env_name
from cdp_mcp.settings.urls import url_problem

__all__ = [
    "AUDIENCES_PATH",
    "DEFAULT_RATE_LIMIT",
    "MCP_PATH",
    "ApiConfig",
    "AuditConfig",
    "HttpConfig",
    "LogFormat",
    "MetricsConfig",
    "RequestConfig",
    "SandboxConfig",
    "ScreeningConfig",
    "ServerConfig",
    "StateConfig",
    "TokenConfig",
    "TokenPolicy",
    "UntrustedMode",
    "ValidityUnit",
    "default_audience_dir",
    "default_state_dir",
]

ValidityUnit = Literal["minutes", "seconds"]
TokenPolicy = Literal["least-privilege", "shared"]
UntrustedMode = Literal["sanitize", "omit"]
LogFormat = Literal["text", "json"]
MCP_PATH = "/mcp"
"""Where the Streamable HTTP endpoint is served; with sign-in the protected resource is `{CDP_MCP_PUBLIC_URL}/mcp`."""
AUDIENCES_PATH = "/audiences"
"""Where the HTTP transport takes an audience upload (POST), for screen_audience's `audience_id`."""
_REDIS_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_RATE_LIMIT = 120
"""Tool calls per minute per person when people sign in with OAuth and CDP_MCP_RATE_LIMIT is unset."""


def default_state_dir() -> Path:
    """The platform's user state directory for cdp-mcp: token cache, creation ledger, the embedded sandbox's
    database, and with sign-in the audit trail (audit.jsonl) and its key (audit.key)."""
    return Path(platformdirs.user_state_dir("cdp-mcp", appauthor=False))


def default_audience_dir() -> Path:
    """The folder cdp-audiences in the person's home: where they put the audience exports screen_audience reads
    (its audience_file)."""
    return Path.home() / "cdp-audiences"


class ApiConfig(ConfigGroup):
    """The tenant's Customer Profile API: where it is, the credentials it takes, what it grants."""

    b2b_api_url: str | None = Field(
        None, title="B2B API URL",
        description="Base URL of the tenant's B2B API with its context path, e.g. https://api.example.com/rcdpapi, "
                    "from your account team; empty: the embedded sandbox (synthetic customers, no credentials)")
    token_api_url: str | None = Field(
        None, description="Base URL of the token endpoints, when your customer success manager gave another one (the "
                          "full create endpoint is read as its base); default: the B2B API URL")
    tenant_hash: SecretStr | None = Field(
        None, title="Tenant hash", description="The tenant hash, from your account team (required with an API URL)")
    oauth_key_secret: SecretStr | None = Field(
        None, title="OAuth key secret", description="OAuth key secret, only when the tenant enables OAuth for the "
                                                    "B2B APIs")
    resources: CommaList = Field(None, description="Resources the tenant grants (default: all); tools that need others "
                                                   "are not offered")
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$",
        description="The tenant's ISO 4217 currency, for amounts the API gives as bare numbers (default: learnt "
                    "from responses)")

    @field_validator("b2b_api_url", "token_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = url_problem(value.strip(), plain_http="anywhere")
        if problem:
            raise ValueError(problem)
        return value.strip().rstrip("/")

    @field_validator("token_api_url")
    @classmethod
    def _token_base(cls, value: str | None) -> str | None:
        # A customer success manager hands over the create endpoint itself: its base URL is what precedes the path.
        for endpoint in (TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH):
            if value is not None and value.lower().endswith(endpoint.lower()):
                return value[: -len(endpoint)]
        return value

    @field_validator("resources")
    @classmethod
    def _known_resources(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - RESOURCE_NAMES)
        if unknown:
            raise ValueError(f"unknown resource(s) {', '.join(unknown)}; known: {', '.join(sorted(RESOURCE_NAMES))}")
        return value

    @model_validator(mode="after")
    def _tenant_for_real_api(self) -> ApiConfig:
        if self.b2b_api_url and self.tenant_hash is None:
            raise ValueError(f"{env_name('tenant_hash')} is required when {env_name('b2b_api_url')} is set")
        if self.token_api_url and not self.b2b_api_url:
            raise ValueError(f"{env_name('token_api_url')} needs {env_name('b2b_api_url')} (the embedded sandbox "
                             "serves its own tokens)")
        return self

    @property
    def uses_sandbox(self) -> bool:
        """No API URL: the embedded sandbox answers."""
        return self.b2b_api_url is None


class RequestConfig(ConfigGroup):
    """How long to wait for the API, and how often to try again."""

    connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect to the API")
    read_timeout: float = Field(30.0, gt=0, description="Seconds to wait for each read of an answer")
    max_retries: int = Field(3, ge=0, le=10, description="Retries of a safe read on connection errors, 5xx, 429")
    retry_budget: float = Field(20.0, gt=0, description="Seconds all retries of one call may take together")

    @property
    def deadline(self) -> float:
        """Seconds one upstream request may take in all, body included (httpx2's timeouts bound each read only)."""
        return self.connect_timeout + self.read_timeout


class TokenConfig(ConfigGroup):
    """The tokens the broker asks for, and the daily allowance it spends."""

    token_validity: int = Field(600, gt=0, description="Validity requested for each token, in "
                                                       "CDP_TOKEN_VALIDITY_UNIT")
    token_validity_unit: ValidityUnit = Field("minutes", description="Unit of CDP_TOKEN_VALIDITY (the vendor docs "
                                                                     "contradict each other)")
    token_daily_limit: int = Field(100, gt=0, title="Daily token limit",
                                   description="The tenant's daily token-creation limit, as the vendor set it")
    token_policy: TokenPolicy = Field("least-privilege", description="least-privilege: a token per resource set a "
                                                                     "call needs; shared: one token for all")

    @property
    def validity_seconds(self) -> int:
        return self.token_validity * (60 if self.token_validity_unit == "minutes" else 1)


class StateConfig(ConfigGroup):
    """Where state lives between restarts: a directory on this machine, and Redis for replicas on several."""

    state_dir: Path = Field(default_factory=default_state_dir,
                            description="Token cache, creation ledger, sandbox database, audit trail and its key")
    redis_url: SecretStr | None = Field(
        None, description="redis:// or rediss:// URL: replicas on several machines share token state there (needs "
                          "the redis extra)")
    redis_key_prefix: str = Field("cdp-mcp", pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                                  description="Prefix of the Redis keys of the token state")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        # The URL may carry a password: the message never echoes it.
        if value is not None and urlsplit(value.get_secret_value().strip()).scheme not in _REDIS_SCHEMES:
            raise ValueError(f"must start with {', '.join(s + '://' for s in _REDIS_SCHEMES)}")
        return value


class ServerConfig(ConfigGroup):
    """What the server serves, and the bounds of each call."""

    tools: CommaList = Field(None, description="Allowlist of tool names (default: all; --tools overrides)")
    call_timeout: float = Field(30.0, gt=0, description="Seconds a tool call may take; then its requests are "
                                                        "cancelled")
    redact_pii: bool = Field(False, title="Redact personal data",
                             description="Mask email, mobile, address and exact birth date in every result")
    untrusted: UntrustedMode = Field(
        "sanitize", title="Customer-written text",
        description="Text customers wrote (names, addresses, attribute values, activity) in results: sanitize "
                    "(cleaned of hidden text and markup, and labelled as data) or omit (left out)")
    max_field_chars: int = Field(DEFAULT_MAX_FIELD_CHARS, ge=20, le=1_000_000,
                                 description="Characters of one customer-written value a result carries")
    mcp_rate_limit: int | None = Field(None, ge=0, description="Tool calls per minute per person (0: off; default: "
                                                               f"{DEFAULT_RATE_LIMIT} with sign-in, else off)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Level of the log lines "
                                                                                       "on stderr")
    log_format: LogFormat = Field("text", description="Log lines on stderr: text for people, json (one object a "
                                                      "line) for a log store")
    mcp_cursor_key: SecretStr | None = Field(
        None, description="Key that seals list cursors (default: one kept in the state directory); give replicas "
                          "the same one")

    @field_validator("mcp_cursor_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("is too short: use at least 16 random characters (python -c \"import secrets; "
                             "print(secrets.token_urlsafe(32))\")")
        return value

    @field_validator("untrusted", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value  # `Omit` from a host's text field


class HttpConfig(ConfigGroup):
    """The Streamable HTTP transport with one shared bearer token (sign-in replaces the token: sign_in.py)."""

    mcp_auth_token: SecretStr | None = Field(None, description="Bearer token required by the HTTP transport (needed "
                                                               "off loopback)")
    mcp_allowed_origins: CommaList = Field(None, description="Browser Origins the HTTP transport accepts besides "
                                                             "loopback ones")
    mcp_drain_seconds: float = Field(20.0, ge=0, le=3600, description="On SIGTERM, seconds calls in flight may "
                                                                      "finish while new ones get 503")


class MetricsConfig(ConfigGroup):
    """Prometheus metrics of the HTTP server (never over stdio): on a port of their own, or behind their own token."""

    mcp_metrics_port: int | None = Field(None, ge=1, le=65535, description="Serve /metrics on this port (all "
                                                                           "interfaces the server binds)")
    mcp_metrics_token: SecretStr | None = Field(None, description="Bearer token a scrape of /metrics must send; "
                                                                  "without a metrics port, /metrics is on the MCP "
                                                                  "port")


class AuditConfig(ConfigGroup):
    """The audit trail of tool calls (on by default with sign-in)."""

    audit_log: str | None = Field(None, description="Audit trail: a file path, - for stderr, off (default: audit.jsonl "
                                                    "in the state directory with sign-in, else off)")
    audit_key: SecretStr | None = Field(None, description="Key of the identifier hashes in audit lines (default: one "
                                                          "kept in the state directory); give replicas the same one")


class SandboxConfig(ConfigGroup):
    """The embedded sandbox that answers without an API URL."""

    sandbox_customers: int = Field(1000, ge=17, le=1_000_000, description="Size of the embedded sandbox tenant (its "
                                                                          "well-known samples are gcr_id 1..17)")
    sandbox_seed: int = Field(7, description="Seed of the embedded sandbox's synthetic customers")


class ScreeningConfig(ConfigGroup):
    """Audience screening (screen_audience and its jobs): how big, how fast, how long kept, when to confirm."""

    audience_max: int = Field(50_000, ge=1, le=1_000_000, description="Customers one audience may hold")
    audience_dir: Path = Field(default_factory=default_audience_dir, title="Audience folder",
                               description="Folder of your audience exports (CSV or JSON lines): screen_audience reads "
                                           "audience_file there and nowhere else (default: cdp-audiences in your "
                                           "home folder)")
    screen_concurrency: int = Field(8, ge=1, le=64, description="Upstream requests in flight for screenings")
    screen_ttl: int = Field(86_400, ge=1, le=2_592_000,
                            description="Seconds finished screenings and uploaded audiences are kept")
    screen_confirm_above: int = Field(1000, ge=0, description="Audience size above which a person confirms first")
    screen_max_jobs: int = Field(2, ge=1, le=100, description="Screenings one person may run at once")
