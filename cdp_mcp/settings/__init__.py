"""cdp-mcp's configuration: `Settings`, made of one small config object per concern, each setting declared once.

`fields.py` says how a setting is declared (its key names its CDP_* variable), `groups.py` and `sign_in.py` hold
the config objects, `urls.py` the one URL check, and `settings.py` the `Settings` that reads the environment.
"""

from __future__ import annotations

from cdp_mcp.settings.fields import env_name
from cdp_mcp.settings.groups import (
    AUDIENCES_PATH,
    DEFAULT_RATE_LIMIT,
    MCP_PATH,
    LogFormat,
    TokenPolicy,
    ValidityUnit,
    default_audience_dir,
    default_state_dir,
)
from cdp_mcp.settings.settings import SANDBOX_TENANT_HASH, SETTINGS, Declared, Settings, declared
from cdp_mcp.settings.sign_in import ALGORITHMS, DEFAULT_JWKS_MAX_AGE, Introspection, OAuthConfig

__all__ = [
    "ALGORITHMS",
    "AUDIENCES_PATH",
    "DEFAULT_JWKS_MAX_AGE",
    "DEFAULT_RATE_LIMIT",
    "MCP_PATH",
    "SANDBOX_TENANT_HASH",
    "SETTINGS",
    "Declared",
    "Introspection",
    "LogFormat",
    "OAuthConfig",
    "Settings",
    "TokenPolicy",
    "ValidityUnit",
    "declared",
    "default_audience_dir",
    "default_state_dir",
    "env_name",
]
