"""A real OpenID provider for the sign-in tests: node `oidc-provider` (tests/signin/oidc, pinned), started as a
subprocess on a free loopback port, and a browser-like driver that signs a person in and gives consent over HTTP.

The provider is configured here (people and their entitlements, the resource and its scopes, signing keys) and
can restart with other keys while keeping its state (clients, grants, refresh tokens), as a deployment rotating
its keys does. `NODE_MODULES` must have been installed (`npm ci` in tests/signin/oidc; `.ci/run` does it).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthToken

from tests.helpers import free_port

__all__ = ["MACHINE", "PEOPLE", "SCOPES", "Browser", "MemoryStorage", "OidcProvider", "missing_reason"]

HERE = Path(__file__).resolve().parent / "oidc"
NODE_MODULES = HERE / "node_modules" / "oidc-provider"
SCOPES = ("profile", "consent", "commerce", "marketing", "read", "pii")
"""The scopes after the prefix: the provider declares `{prefix}{name}` for each."""
PEOPLE: dict[str, tuple[str, ...]] = {
    "rea": ("read",),  # a read-only person: everything but contact details
    "pat": ("profile",),  # profile-only: who the customer is
    "alex": SCOPES,  # all scopes, contact details included
}
MACHINE = ("nightly-export", "nightly-export-secret-0123456789abcdef")
"""A confidential client for the client-credentials grant (a job, no person)."""


def missing_reason() -> str | None:
    """Why the provider cannot run here (node absent, or its package not installed), or None."""
    if shutil.which("node") is None:
        return "node is not installed: the sign-in suite needs node and `npm ci` in tests/signin/oidc (.ci/run)"
    if not NODE_MODULES.is_dir():
        return "oidc-provider is not installed: run `npm ci` in tests/signin/oidc (.ci/run does)"
    return None


def signing_key() -> dict[str, Any]:
    """A fresh EC P-256 private JWK, as the provider's configuration takes it."""
    jwk: dict[str, Any] = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
    return {**jwk, "kid": f"key-{secrets.token_hex(4)}", "alg": "ES256", "use": "sig"}


@dataclass
class OidcProvider:
    """Start with `start()`; `issuer` is its URL. `restart(keys)` rotates the signing keys, state kept."""

    resource: str
    directory: Path
    prefix: str = "cdp:"
    access_token_ttl: int = 600
    keys: list[dict[str, Any]] = field(default_factory=lambda: [signing_key()])
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.stderr = self.directory / "provider.log"
        self._process: subprocess.Popen[bytes] | None = None

    def configuration(self) -> dict[str, Any]:
        scopes = [self.prefix + name for name in SCOPES]
        return {
            "port": self.port, "keys": self.keys, "resource": self.resource, "scopes": scopes,
            "access_token_ttl": self.access_token_ttl, "state_file": str(self.directory / "provider-state.json"),
            "log_file": str(self.directory / "provider-requests.jsonl"),
            "people": {who: {"email": f"{who}@corp.example", "entitled": [self.prefix + n for n in names]}
                       for who, names in PEOPLE.items()},
            "clients": [{"client_id": MACHINE[0], "client_secret": MACHINE[1], "grant_types": ["client_credentials"],
                         "redirect_uris": [], "response_types": [], "scope": " ".join(scopes)}],
        }

    def start(self) -> OidcProvider:
        path = self.directory / "provider.json"
        path.write_text(json.dumps(self.configuration()))
        with self.stderr.open("ab") as log:
            self._process = subprocess.Popen(["node", str(HERE / "provider.mjs"), str(path)], cwd=HERE,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                             env={**os.environ, "NODE_ENV": "test"})
        assert self._process.stdout is not None
        line = self._process.stdout.readline().decode()  # the provider prints one line once it listens
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"oidc-provider did not start: {line!r} {self.stderr.read_text()[-3000:]}")
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def restart(self, keys: list[dict[str, Any]]) -> None:
        """Stop, then start again on the same port with these keys (the first signs), clients and grants kept."""
        self.stop()
        self.keys = keys
        deadline = time.monotonic() + 10
        while True:  # the port frees as the old process exits
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise

    def requests(self, endpoint: str) -> list[dict[str, Any]]:
        """The requests the provider received at `endpoint` (authorization, token, registration)."""
        path = self.directory / "provider-requests.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return [entry for entry in map(json.loads, lines) if entry["endpoint"] == endpoint]

    def machine_token(self, scope: str) -> str:
        """A client-credentials access token for the resource (a job's token: no person in it)."""
        response = httpx2.post(f"{self.issuer}/token", auth=MACHINE, timeout=10,
                               data={"grant_type": "client_credentials", "resource": self.resource, "scope": scope})
        response.raise_for_status()
        return str(response.json()["access_token"])


class MemoryStorage:
    """The SDK's `TokenStorage`, in memory (a host keeps it in its own store)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Browser:
    """What a person's browser does when a host opens the authorization URL: follow the provider's redirects,
    sign in as `person` on the login page, confirm on the consent page, and hand the host the redirect's code.

    `redirect_handler` and `callback_handler` are what `OAuthClientProvider` takes.
    """

    def __init__(self, person: str, redirect_uri: str) -> None:
        self.person = person
        self.redirect_uri = redirect_uri
        self.prompts: list[str] = []
        self._result: AuthorizationCodeResult | None = None

    async def redirect_handler(self, authorization_url: str) -> None:
        async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as http:
            url = authorization_url
            for _ in range(20):
                if url.startswith(self.redirect_uri):
                    self._result = _code_of(url)
                    return
                if "/interaction/" in urlsplit(url).path:
                    page = (await http.get(url)).json()
                    self.prompts.append(page["prompt"])
                    action, form = ("login", {"login": self.person}) if page["prompt"] == "login" else ("confirm", {})
                    response = await http.post(f"{url}/{action}", data=form)
                else:
                    response = await http.get(url)
                if response.status_code not in (302, 303):
                    raise AssertionError(f"the provider answered {response.status_code}: {response.text[:500]}")
                url = urljoin(url, response.headers["location"])
        raise AssertionError("the sign-in did not end at the redirect URI")

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self._result is not None, "the browser never reached the redirect URI"
        return self._result


def _code_of(url: str) -> AuthorizationCodeResult:
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    if "error" in query:
        raise AssertionError(f"the provider refused the sign-in: {query}")
    return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))
