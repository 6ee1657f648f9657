"""Settings from the environment as hosts fill it: empty optional values are unset, bad ones say how to fix them."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr

from cdp_mcp.errors import ConfigurationError
from cdp_mcp.settings import Settings


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    for key in list(os.environ):
        if key.startswith("CDP_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.mark.parametrize("blank", ["", "   ", "${user_config.oauth_key_secret}"])
def test_empty_optional_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    """Hosts (MCP Bundles, VS Code inputs left empty) pass unset optional fields as "" or as the placeholder."""
    for name in ("CDP_B2B_API_URL", "CDP_TENANT_HASH", "CDP_OAUTH_KEY_SECRET", "CDP_TOKEN_DAILY_LIMIT",
                 "CDP_REDACT_PII", "CDP_TOOLS", "CDP_CURRENCY", "CDP_REDIS_URL", "CDP_MCP_AUTH_TOKEN",
                 "CDP_STATE_DIR", "CDP_LOG_LEVEL", "CDP_TOKEN_API_URL", "CDP_MCP_OAUTH_ISSUER"):
        monkeypatch.setenv(name, blank)
    settings = Settings.load()
    assert settings.uses_sandbox and settings.tenant_hash is None and settings.oauth_key_secret is None
    assert settings.token_daily_limit == 100 and settings.redact_pii is False and settings.tools is None
    assert settings.redis_url is None and settings.mcp_auth_token is None and settings.log_level == "INFO"
    assert str(settings.state_dir).strip() and settings.token_api_url is None and not settings.oauth_enabled


@pytest.mark.parametrize("blank", ["", "   ", "${user_config.tenant_hash}"])
def test_empty_secrets_handed_over_wrapped_count_as_unset(blank: str) -> None:
    """A caller that wraps secrets itself (Settings(tenant_hash=SecretStr(...))) gets the same defaults."""
    settings = Settings.load(**{name: SecretStr(blank) for name in ("tenant_hash", "oauth_key_secret", "redis_url",
                                                                    "mcp_auth_token", "audit_key")})
    assert (settings.tenant_hash, settings.oauth_key_secret, settings.redis_url, settings.mcp_auth_token,
            settings.audit_key) == (None,) * 5


def test_an_empty_tenant_hash_with_an_api_url_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_B2B_API_URL", "https://api.example.com/rcdpapi")
    monkeypatch.setenv("CDP_TENANT_HASH", "")
    with pytest.raises(ConfigurationError, match="CDP_TENANT_HASH is required"):
        Settings.load()


@pytest.mark.parametrize(("url", "says"), [
    ("ftp://x", "must start with https:// (or http:// for a test API on your network), not ftp://"),
    ("api.example.com/rcdpapi", "needs a scheme: use https://api.example.com/rcdpapi"),
    ("https://", "needs a host"),
    ("https://user:pw@api.example.com/r", "must not carry user-info"),
])
def test_a_bad_api_url_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch, url: str, says: str) -> None:
    monkeypatch.setenv("CDP_B2B_API_URL", url)
    monkeypatch.setenv("CDP_TENANT_HASH", "t" * 32)
    with pytest.raises(ConfigurationError) as caught:
        Settings.load()
    assert says in caught.value.message and "https://ftp://" not in caught.value.message
    assert "pw" not in caught.value.message


def test_the_untrusted_mode_reads_as_a_host_writes_it_and_refuses_anything_else(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_UNTRUSTED", " Omit ")
    assert Settings.load().untrusted == "omit"
    for name, value in (("CDP_UNTRUSTED", "everything"), ("CDP_MAX_FIELD_CHARS", "5")):
        monkeypatch.setenv("CDP_UNTRUSTED", "sanitize")
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigurationError) as caught:
            Settings.load()
        assert name in caught.value.message
