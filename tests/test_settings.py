"""Settings from the environment as hosts fill it: empty optional values are unset, bad ones say how to fix them."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr, ValidationError

from cdp_mcp.errors import ConfigurationError
from cdp_mcp.settings import SETTINGS, Settings, declared


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
    api, server = settings.api, settings.server
    assert api.uses_sandbox and api.tenant_hash is None and api.oauth_key_secret is None and api.token_api_url is None
    assert settings.tokens.token_daily_limit == 100 and server.redact_pii is False and server.tools is None
    assert settings.state.redis_url is None and settings.http.mcp_auth_token is None and server.log_level == "INFO"
    assert str(settings.state.state_dir).strip() and not settings.sign_in.enabled


@pytest.mark.parametrize("blank", ["", "   ", "${user_config.tenant_hash}"])
def test_empty_secrets_handed_over_wrapped_count_as_unset(blank: str) -> None:
    """A caller that wraps secrets itself (Settings(tenant_hash=SecretStr(...))) gets the same defaults."""
    settings = Settings.load(**{name: SecretStr(blank) for name in ("tenant_hash", "oauth_key_secret", "redis_url",
                                                                    "mcp_auth_token", "audit_key")})
    assert (settings.api.tenant_hash, settings.api.oauth_key_secret, settings.state.redis_url,
            settings.http.mcp_auth_token, settings.audit.audit_key) == (None,) * 5


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


@pytest.mark.parametrize(("name", "url", "says"), [
    ("CDP_MCP_OAUTH_ISSUER", "http://login.example.com", "must use https:// (plain http only on loopback)"),
    ("CDP_MCP_OAUTH_ISSUER", "http://127.attacker.example", "must use https:// (plain http only on loopback)"),
    ("CDP_MCP_OAUTH_ISSUER", "ftp://login.example.com", "must start with https:// (or http:// on loopback), not ftp://"),
    ("CDP_MCP_OAUTH_ISSUER", "https://login.example.com?tenant=x", "must not carry user-info, a query or a fragment"),
    ("CDP_MCP_OAUTH_JWKS_URL", "https://user:pw@login.example.com/keys", "must not carry user-info or a fragment"),
    ("CDP_MCP_PUBLIC_URL", "https://cdp.example.com/mcp", "is the server's base URL, without /mcp"),
])
def test_sign_in_urls_are_checked_by_the_same_rule_in_the_same_words(
    monkeypatch: pytest.MonkeyPatch, name: str, url: str, says: str,
) -> None:
    """One URL check for every URL setting: plain http only where the setting allows it (loopback, by address)."""
    monkeypatch.setenv("CDP_MCP_OAUTH_ISSUER", "https://login.example.com")
    monkeypatch.setenv("CDP_MCP_PUBLIC_URL", "https://cdp.example.com")
    monkeypatch.setenv(name, url)
    with pytest.raises(ConfigurationError) as caught:
        Settings.load()
    assert f"{name} {says}" in caught.value.message and "pw" not in caught.value.message


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:9000", "http://localhost:9000/realms/x", "http://[::1]:9000"])
def test_plain_http_sign_in_is_accepted_on_loopback(monkeypatch: pytest.MonkeyPatch, issuer: str) -> None:
    monkeypatch.setenv("CDP_MCP_OAUTH_ISSUER", issuer)
    monkeypatch.setenv("CDP_MCP_PUBLIC_URL", "http://127.0.0.1:8000")
    oauth = Settings.load().sign_in.oauth()
    assert oauth is not None and oauth.issuer == issuer and oauth.resource == "http://127.0.0.1:8000/mcp"


@pytest.mark.parametrize(("name", "value"), [
    ("CDP_MCP_SCOPE_PREFIX", "cdp."), ("CDP_MCP_OAUTH_PRINCIPAL_CLAIM", "email"), ("CDP_MCP_OAUTH_JWKS_MAX_AGE", "600"),
])
def test_a_sign_in_setting_with_a_default_is_refused_without_the_issuer_even_at_its_default(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str,
) -> None:
    """Given, not merely different from the default: someone who sets it expects sign-in, which is off."""
    assert not Settings.load().sign_in.enabled  # the defaults alone start
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        Settings.load()
    assert f"{name} is set but CDP_MCP_OAUTH_ISSUER is not" in caught.value.message
    monkeypatch.setenv("CDP_MCP_OAUTH_ISSUER", "https://login.example.com")
    monkeypatch.setenv("CDP_MCP_PUBLIC_URL", "https://cdp.example.com")
    oauth = Settings.load().sign_in.oauth()
    assert oauth is not None and value in (oauth.scope_prefix, oauth.principal_claim, str(oauth.jwks_max_age))


@pytest.mark.parametrize(("name", "value"), [
    ("CDP_MCP_OAUTH_JWKS_MAX_AGE", "59"), ("CDP_MCP_OAUTH_JWKS_MAX_AGE", "86401"),
    ("CDP_MCP_OAUTH_PRINCIPAL_CLAIM", "preferred username"), ("CDP_MCP_SCOPE_PREFIX", "cdp,"),
])
def test_sign_in_settings_out_of_bounds_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv("CDP_MCP_OAUTH_ISSUER", "https://login.example.com")
    monkeypatch.setenv("CDP_MCP_PUBLIC_URL", "https://cdp.example.com")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        Settings.load()
    assert caught.value.message.startswith(f"Invalid configuration: {name} ")


def test_every_setting_is_declared_once_with_its_variable_default_and_description() -> None:
    keys = [setting.key for setting in SETTINGS]
    assert len(keys) == len(set(keys))  # a key names one setting, in one config object
    for setting in SETTINGS:
        assert setting.env == "CDP_" + setting.key.upper() and declared(setting.key) is setting
        assert setting.description and len(setting.description) <= 200, setting.key  # one line, said once
        assert Settings().value(setting.key) == setting.default or setting.key == "state_dir"


def test_settings_are_read_by_key_into_their_concern(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_TOKEN_DAILY_LIMIT", "250")
    monkeypatch.setenv("CDP_MCP_ALLOWED_ORIGINS", "https://a.example, https://b.example")
    settings = Settings(tools="get_customer_profile,screen_customers", log_level="DEBUG")
    assert settings.tokens.token_daily_limit == 250 and settings.is_given("token_daily_limit")
    assert settings.http.mcp_allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.server.tools == ["get_customer_profile", "screen_customers"]
    assert settings.is_given("log_level") and not settings.is_given("redact_pii")
    changed = settings.replace(redact_pii=True)
    assert changed.server.redact_pii and changed.server.tools == settings.server.tools and changed.is_given("log_level")
    with pytest.raises(ValidationError):
        settings.replace(token_daily_limit=0)


def test_a_problem_across_concerns_names_both_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_MCP_OAUTH_ISSUER", "https://login.example.com")
    monkeypatch.setenv("CDP_MCP_PUBLIC_URL", "https://cdp.example.com")
    monkeypatch.setenv("CDP_MCP_AUTH_TOKEN", "a-static-token-0123456789")
    with pytest.raises(ConfigurationError) as caught:
        Settings.load()
    assert caught.value.message == ("Invalid configuration: CDP_MCP_OAUTH_ISSUER and CDP_MCP_AUTH_TOKEN are exclusive: "
                                    "unset CDP_MCP_AUTH_TOKEN for per-person sign-in, or the issuer for one shared "
                                    "token")
    assert "0123456789" not in caught.value.message


@pytest.mark.parametrize("host", ["127.attacker.example", "127.0.0.1.nip.io", "localhost.evil.example", "0.0.0.0"])
def test_plain_http_sign_in_urls_only_on_a_loopback_address(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    """http:// is allowed for the issuer and the public URL on this machine only: a host name that merely starts
    like a loopback address is some other machine."""
    monkeypatch.setenv("CDP_MCP_OAUTH_ISSUER", f"http://{host}/realms/corp")
    monkeypatch.setenv("CDP_MCP_PUBLIC_URL", "https://cdp.example.com")
    with pytest.raises(ConfigurationError, match="CDP_MCP_OAUTH_ISSUER must use https://"):
        Settings.load()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "[::1]", "localhost"])
def test_plain_http_sign_in_urls_are_accepted_on_loopback(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("CDP_MCP_OAUTH_ISSUER", f"http://{host}:8080/realms/corp")
    monkeypatch.setenv("CDP_MCP_PUBLIC_URL", f"http://{host}:8000")
    assert Settings.load().sign_in.enabled


def test_the_untrusted_mode_reads_as_a_host_writes_it_and_refuses_anything_else(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_UNTRUSTED", " Omit ")
    assert Settings.load().server.untrusted == "omit"
    for name, value in (("CDP_UNTRUSTED", "everything"), ("CDP_MAX_FIELD_CHARS", "5")):
        monkeypatch.setenv("CDP_UNTRUSTED", "sanitize")
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigurationError) as caught:
            Settings.load()
        assert name in caught.value.message
