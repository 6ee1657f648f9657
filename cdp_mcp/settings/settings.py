"""`Settings`: every setting, read from `CDP_*` environment variables and an optional `.env`, by concern.

Settings is made of small frozen config objects (groups.py, sign_in.py), one per concern: `api` (the tenant's
API), `requests` (timeouts, retries), `tokens`, `state` (state directory, Redis), `server`, `http`, `metrics`,
`sign_in`, `audit`, `sandbox` and `screening` (audiences and their jobs). It is built from setting keys, as the
environment names them: `Settings(state_dir=...)` and `Settings.load(tools=[...])` take keys, and the environment
(then `.env`) fills the rest. Secrets stay `SecretStr`.

`SETTINGS` lists every setting as declared (key, variable, default, description), for everything that describes
them all: doctor, the bundle manifest, `config`, the docs' configuration reference, and `Settings.load()`,
which turns validation failures into one `ConfigurationError` naming each bad variable and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, create_model, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from cdp_mcp.errors import ConfigurationError
from cdp_mcp.settings.fields import ENV_PREFIX, ConfigGroup, env_name
from cdp_mcp.settings.groups import (
    ApiConfig,
    AuditConfig,
    HttpConfig,
    MetricsConfig,
    RequestConfig,
    SandboxConfig,
    ScreeningConfig,
    ServerConfig,
    StateConfig,
    TokenConfig,
)
from cdp_mcp.settings.sign_in import SignInConfig

__all__ = ["SANDBOX_TENANT_HASH", "SETTINGS", "Declared", "Settings", "declared"]

SANDBOX_TENANT_HASH = "sandbox0tenant0hash0000000000001"
"""The embedded sandbox's tenant hash (32 characters): not a secret, the same for every newcomer."""


class Settings(BaseModel):
    """All of cdp-mcp's settings, one config object per concern. Unset `api.b2b_api_url` means the sandbox."""

    model_config = ConfigDict(frozen=True)

    api: ApiConfig = Field(default_factory=ApiConfig)
    requests: RequestConfig = Field(default_factory=RequestConfig)
    tokens: TokenConfig = Field(default_factory=TokenConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    sign_in: SignInConfig = Field(default_factory=SignInConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    screening: ScreeningConfig = Field(default_factory=ScreeningConfig)

    @model_validator(mode="before")
    @classmethod
    def _from_keys(cls, data: object) -> object:
        """Setting keys (and `_env_file`), completed from the environment, sorted into their config objects."""
        if not isinstance(data, dict) or any(name in cls.model_fields for name in data):
            return data  # already by concern (model_validate of a dump)
        read = _environment()(**data)
        grouped: dict[str, dict[str, Any]] = {name: {} for name in cls.model_fields}
        for key in read.model_fields_set:
            grouped[declared(key).group][key] = getattr(read, key)
        return grouped

    @model_validator(mode="after")
    def _one_way_to_authenticate_http(self) -> Settings:
        if self.sign_in.enabled and self.http.mcp_auth_token is not None:
            issuer, token = env_name("mcp_oauth_issuer"), env_name("mcp_auth_token")
            raise ValueError(f"{issuer} and {token} are exclusive: unset {token} for per-person sign-in, or the "
                             "issuer for one shared token")
        return self

    @classmethod
    def load(cls, **keys: object) -> Settings:
        """Read the environment (and `.env`) under `keys`; raise `ConfigurationError` naming each bad setting."""
        try:
            return cls.model_validate(keys)
        except ValidationError as exc:
            raise ConfigurationError("Invalid configuration: " + "; ".join(_problem(e) for e in exc.errors()),
                                     hint="Fix the environment variables (or .env) named above.") from None

    def value(self, key: str) -> Any:
        """The value of the setting `key`, wherever its concern keeps it."""
        return getattr(getattr(self, declared(key).group), key)

    def is_given(self, key: str) -> bool:
        """Whether the environment, `.env` or the caller set `key` (rather than its default)."""
        return key in getattr(self, declared(key).group).model_fields_set

    def replace(self, **keys: Any) -> Settings:
        """A copy with the settings `keys` names changed, each checked as the environment's would be."""
        groups: dict[str, ConfigGroup] = {}
        for name in type(self).model_fields:
            group: ConfigGroup = getattr(self, name)
            changes = {key: value for key, value in keys.items() if declared(key).group == name}
            given = {key: getattr(group, key) for key in group.model_fields_set}
            groups[name] = type(group).model_validate(given | changes) if changes else group
        return type(self).model_validate(groups)


@dataclass(frozen=True, slots=True)
class Declared:
    """One setting as its config object declares it."""

    key: str
    group: str
    field: FieldInfo

    @property
    def env(self) -> str:
        return env_name(self.key)

    @property
    def description(self) -> str:
        return self.field.description or ""

    @property
    def title(self) -> str | None:
        return self.field.title

    @property
    def default(self) -> Any:
        return self.field.get_default(call_default_factory=True)

    @property
    def secret(self) -> bool:
        return SecretStr in (self.field.annotation, *get_args(self.field.annotation))


SETTINGS: tuple[Declared, ...] = tuple(
    Declared(key, group, info)
    for group, holder in Settings.model_fields.items() if isinstance(holder.annotation, type)
    for key, info in holder.annotation.model_fields.items()
)
"""Every setting, in the order of its config object's declaration."""
_BY_KEY = {setting.key: setting for setting in SETTINGS}


def declared(key: str) -> Declared:
    """The declaration of the setting `key` (KeyError for a key no config object declares)."""
    return _BY_KEY[key]


class _Environment(BaseSettings):
    """Reads the raw value of every setting (validation is the config objects' job)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")


@cache
def _environment() -> type[_Environment]:
    fields: dict[str, Any] = {setting.key: (Any, None) for setting in SETTINGS}
    return create_model("Environment", __base__=_Environment, **fields)


def _problem(error: ErrorDetails) -> str:
    """One validation failure as `CDP_NAME what is wrong` (a check across settings names them itself)."""
    message = error["msg"].removeprefix("Value error, ")
    key = next((part for part in error["loc"] if isinstance(part, str) and part in _BY_KEY), None)
    return f"{env_name(key)} {message}" if key else message
