"""The one pooled HTTP client: explicit timeouts, no secrets on it, no redirects, no secrets in URLs."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from cdp_mcp.catalog import Header
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.errors import ConfigurationError, UpstreamResponseError
from cdp_mcp.settings import Settings
from tests.client.rig import FixedToken

pytestmark = pytest.mark.anyio

BASE = "https://cdp.example.test/rcdpapi"


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, b2b_api_url=BASE, tenant_hash="hunter2" * 4 + "abcd",  # type: ignore[call-arg]
                    oauth_key_secret="hunter2hunter2ab", state_dir=tmp_path, **values)


async def test_timeouts_come_from_settings_and_no_credential_sits_on_the_client(tmp_path: Path) -> None:
    settings = _settings(tmp_path, connect_timeout=2.5, read_timeout=12.0)
    async with make_http_client(settings, base_url=BASE) as http:
        assert (http.timeout.connect, http.timeout.read) == (2.5, 12.0)
        assert not http.follow_redirects
        assert not {h.value for h in Header} & {k.lower() for k in http.headers}
        assert "hunter2" not in repr(http) and "hunter2" not in str(dict(http.headers))


@pytest.mark.parametrize("url", ["https://user:pw@cdp.example.test/rcdpapi", "https://cdp.example.test/x?key=1",
                                 "cdp.example.test/rcdpapi", "https:///rcdpapi"])
def test_base_urls_that_could_carry_secrets_or_lack_a_scheme_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_http_client(_settings(tmp_path), base_url=url)
    assert "pw" not in str(caught.value) and "CDP_B2B_API_URL" in caught.value.hint


def test_settings_refuse_a_url_with_credentials_without_echoing_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(_env_file=None, b2b_api_url="user:hunter2@cdp.example.test/rcdpapi", tenant_hash="t" * 32)
    assert "CDP_B2B_API_URL" in str(caught.value) and "hunter2" not in str(caught.value)


async def test_an_undecodable_body_is_an_upstream_response_error(tmp_path: Path) -> None:
    def handle(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"not gzip at all", headers={"Content-Encoding": "gzip"})

    settings = _settings(tmp_path)
    async with make_http_client(settings, base_url=BASE, transport=httpx2.MockTransport(handle)) as http:
        with pytest.raises(UpstreamResponseError, match="basic"):
            await CdpClient(http, settings, FixedToken()).fetch("basic", CustomerIdentity(gcr_id=1))


async def test_a_redirect_is_not_followed_so_credentials_stay_home(tmp_path: Path) -> None:
    seen: list[httpx2.Request] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(307, headers={"Location": "https://elsewhere.example.org/steal"})

    settings = _settings(tmp_path)
    async with make_http_client(settings, base_url=BASE, transport=httpx2.MockTransport(handle)) as http:
        with pytest.raises(UpstreamResponseError, match="307"):
            await CdpClient(http, settings, FixedToken()).fetch("basic", CustomerIdentity(gcr_id=1))
    assert [r.url.host for r in seen] == ["cdp.example.test"]
    assert all("hunter2" not in str(r.url) for r in seen)
