"""Fixtures for the sign-in suite: a real OpenID provider (node oidc-provider) and cdp-mcp served over HTTP with
sign-in at it, reached by hosts that are the MCP SDK's own OAuth client.

The clean environment, the shared small embedded sandbox and the sample customers are the CLI tests' fixtures
(tests/commands/conftest.py), reused here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from cdp_mcp.http_app import create_http_app
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.commands.conftest import _isolated, cdp_env, shared_state_dir, showcase
from tests.helpers import free_port, served_on
from tests.signin.idp import Browser, MemoryStorage, OidcProvider, missing_reason

__all__ = ["Host", "Served", "_isolated", "cdp_env", "shared_state_dir", "showcase", "signed_in_server"]


@pytest.fixture(scope="session")
def node_provider_ready() -> None:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)


@dataclass
class Served:
    """cdp-mcp over HTTP with sign-in at a real provider: base URL, settings and audit file."""

    base: str
    settings: Settings
    audit: Path

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"

    def audit_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()] if self.audit.exists() else []


@asynccontextmanager
async def signed_in_server(issuer: str, directory: Path, sock: Any, **settings: Any) -> AsyncIterator[Served]:
    """cdp-mcp with CDP_MCP_OAUTH_ISSUER=`issuer`, served on `sock` (bound before the provider learnt its URL)."""
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    audit = directory / "audit.jsonl"
    loaded = Settings.load(**{"mcp_oauth_issuer": issuer, "mcp_public_url": base, "audit_log": str(audit),
                              **settings})
    async with served_on(create_http_app(build_server(loaded), loaded), sock, within=120):
        yield Served(base, loaded, audit)


@dataclass
class Host:
    """An MCP host as the SDK makes one: its OAuth client (registration, PKCE, refresh) and token store, and the
    browser its person signs in with."""

    provider: OAuthClientProvider
    storage: MemoryStorage
    browser: Browser

    @classmethod
    def for_person(cls, person: str, server_url: str) -> Host:
        redirect_uri = f"http://127.0.0.1:{free_port()}/callback"  # the host's loopback redirect (never served)
        browser, storage = Browser(person, redirect_uri), MemoryStorage()
        metadata = OAuthClientMetadata(client_name=f"test host of {person}", redirect_uris=[redirect_uri],
                                       token_endpoint_auth_method="none")
        provider = OAuthClientProvider(server_url, metadata, storage, redirect_handler=browser.redirect_handler,
                                       callback_handler=browser.callback_handler)
        return cls(provider, storage, browser)

    @asynccontextmanager
    async def session(self, url: str) -> AsyncIterator[Client]:
        async with httpx2.AsyncClient(auth=self.provider, timeout=30) as http, \
                Client(streamable_http_client(url, http_client=http)) as client:
            yield client

    @property
    def access_token(self) -> str:
        assert self.storage.tokens is not None
        return self.storage.tokens.access_token

    def expire_access_token(self) -> None:
        """As if the access token's lifetime had passed: the host refreshes it before its next request."""
        self.provider.context.token_expiry_time = 1.0  # 1970: long past (0 would mean "no expiry")


@pytest.fixture
def server_socket() -> Iterator[Any]:
    sock = bind_socket("127.0.0.1", 0)
    yield sock
    sock.close()


@pytest.fixture
def provider(node_provider_ready: None, server_socket: Any, tmp_path: Path) -> Iterator[OidcProvider]:
    """oidc-provider with the `cdp:` scopes, issuing tokens for the server on `server_socket`."""
    idp = OidcProvider(resource=f"http://127.0.0.1:{server_socket.getsockname()[1]}/mcp", directory=tmp_path).start()
    try:
        yield idp
    finally:
        idp.stop()
