"""How a setting is declared: a field of a small config object, whose name is the setting's key.

The key gives the environment variable (`env_name`: `token_daily_limit` is CDP_TOKEN_DAILY_LIMIT), the field
its default, its one-line description and its bounds. Nothing else spells a variable's name from a key.
Values a host leaves blank, or as an unfilled `${user_config.KEY}` placeholder (an MCP Bundle), count as unset
wherever a config object is made, and comma-separated lists (CDP_TOOLS=a,b) are split the same way everywhere.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr, model_validator

__all__ = ["ENV_PREFIX", "CommaList", "ConfigGroup", "env_name", "is_unset"]

ENV_PREFIX = "CDP_"
"""Every setting's environment variable starts with this (CDP_MCP_* are the MCP server's own)."""

_PLACEHOLDER = re.compile(r"\$\{user_config\.[^}]*\}")


def env_name(key: str) -> str:
    """The environment variable of the setting `key` (`mcp_public_url` -> CDP_MCP_PUBLIC_URL)."""
    return ENV_PREFIX + key.upper()


def is_unset(value: object) -> bool:
    """Blank, or a placeholder the host left unfilled (a SecretStr judged by what it holds)."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    return isinstance(raw, str) and (not raw.strip() or _PLACEHOLDER.fullmatch(raw.strip()) is not None)


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()] or None
    return value


CommaList = Annotated[list[str] | None, BeforeValidator(_split)]
"""A list setting: given as `a,b,c` in the environment, or as a list."""


class ConfigGroup(BaseModel):
    """Base of the config objects `Settings` is made of: frozen, and blank values read as unset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_unset_values(cls, data: object) -> object:
        # Empty means unset: hosts fill optional fields left blank with "" (and an MCP Bundle host may leave
        # `${user_config.KEY}` in place), which must neither stop start-up nor override a default. A secret
        # handed over already wrapped (SecretStr) counts the same.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not is_unset(v)}
        return data
