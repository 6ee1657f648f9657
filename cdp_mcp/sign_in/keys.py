"""The issuer's signing keys: discovered, fetched over HTTP without blocking the event loop, cached, rotated.

Discovery reads `{issuer}/.well-known/openid-configuration`, else the RFC 8414 document
`/.well-known/oauth-authorization-server{issuer path}`, and checks that it names the configured issuer
(a document for another issuer is refused: mix-up protection). `CDP_MCP_OAUTH_JWKS_URL` skips discovery.

Keys are cached for the JWKS response's `max-age` (bounded; one hour by default). A token naming a key id
the cache does not hold triggers one refetch (the issuer rotated its keys), at most once per cooldown so
random key ids cannot make us hammer the issuer. When the issuer cannot be reached, cached keys keep serving
until they expire; after that, or for a key id only a refetch could settle, `SignInUnavailableError` refuses
the request: a token is never let through unchecked. After a failed fetch, further attempts wait a few
seconds, so an outage does not add a network timeout to every request.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from cdp_mcp.errors import AccessTokenRejectedError, SignInUnavailableError
from cdp_mcp.version import USER_AGENT

__all__ = ["IDP_TIMEOUT", "IssuerKeys", "discovery_urls", "idp_client"]

logger = logging.getLogger(__name__)

IDP_TIMEOUT = 5.0
"""Seconds to connect to the identity provider and for each of its answers."""
_MAX_AGE = re.compile(r"max-age=(\d+)")
_JWKS_LIMIT = 512 * 1024  # bytes: a key set is a few KB; more is a misconfiguration or an attack


def idp_client() -> httpx2.AsyncClient:
    """The HTTP client for the identity provider (metadata, signing keys, introspection), for the server and
    doctor alike, so doctor's verdict is the server's. Redirects are not followed: the issuer's documents
    are fetched from the URLs it names, and a redirect is reported as the HTTP status it is."""
    return httpx2.AsyncClient(timeout=httpx2.Timeout(IDP_TIMEOUT), headers={"User-Agent": USER_AGENT},
                              follow_redirects=False)


def discovery_urls(issuer: str) -> list[str]:
    """Where the issuer's metadata may be: OpenID Connect discovery first, then RFC 8414."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return [f"{issuer.rstrip('/')}/.well-known/openid-configuration",
            f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}"]


@dataclass
class _Cache:
    keys: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    expires: float = 0.0  # monotonic
    fetched: float = float("-inf")  # monotonic time of the last successful fetch
    unknown_kid: float = float("-inf")  # monotonic time of the last refetch for a key id the cache lacked
    failed: float = float("-inf")  # monotonic time of the last failed fetch


class IssuerKeys:
    """The signing keys of one issuer (JWKS), cached and refreshed as described in the module docstring.

    Args:
        issuer: the issuer identifier (`CDP_MCP_OAUTH_ISSUER`).
        http: the client to fetch with (the caller closes it).
        jwks_url: skips discovery (`CDP_MCP_OAUTH_JWKS_URL`).
        cache_seconds: how long keys live when the response states no `max-age`.
        min_seconds, max_seconds: bounds on a stated `max-age`.
        refetch_cooldown: least seconds between two fetches for an unknown key id.
        retry_after_failure: seconds before trying again after a failed fetch.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(self, issuer: str, http: httpx2.AsyncClient, *, jwks_url: str | None = None,
                 cache_seconds: float = 3600, min_seconds: float = 60, max_seconds: float = 86400,
                 refetch_cooldown: float = 10, retry_after_failure: float = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self._http = http
        self._jwks_url = jwks_url
        self._ttl = (cache_seconds, min_seconds, max_seconds)
        self._cooldown = refetch_cooldown
        self._retry_after_failure = retry_after_failure
        self._clock = clock
        self._cache = _Cache()
        self._lock = anyio.Lock()
        self.metadata: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"IssuerKeys({self.issuer!r}, {len(self._cache.keys)} key(s) cached)"

    async def key_for(self, kid: str | None) -> dict[str, Any]:
        """The JWK for a token's key id.

        Raises:
            TokenRejectedError: the issuer does not have that key (after one refetch) or kid is ambiguous.
            KeysUnavailableError: the keys cannot be fetched and the cache cannot settle it.
        """
        now = self._clock()
        cache = self._cache
        if now < cache.expires:
            found = self._lookup(kid)
            if found is not None:
                return found
            if now - cache.unknown_kid < self._cooldown:  # random kids must not make us hammer the issuer
                raise AccessTokenRejectedError("The token is signed with a key the issuer does not publish")
            cache.unknown_kid = now
        fresh = await self._refresh(stale_before=now)
        found = self._lookup(kid)
        if found is None:
            if not fresh:  # only a fetch could tell a rotated key from a forged one
                raise SignInUnavailableError("The issuer's signing keys cannot be fetched to check a new key id")
            raise AccessTokenRejectedError("The token is signed with a key the issuer does not publish")
        return found

    def holds(self, kid: str | None) -> bool:
        """Whether the cached key set (fresh or not) still has this key: a withdrawn key stops counting at once."""
        return kid in self._cache.keys

    async def jwks_url(self) -> str:
        """The JWKS location: configured, or from the issuer's metadata (fetched once)."""
        if self._jwks_url is not None:
            return self._jwks_url
        metadata = await self.discover()
        uri = metadata.get("jwks_uri")
        if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
            raise SignInUnavailableError("The issuer's metadata names no jwks_uri; set CDP_MCP_OAUTH_JWKS_URL")
        return uri

    async def discover(self) -> dict[str, Any]:
        """The issuer's metadata document (cached once found), checked to be this issuer's."""
        if self.metadata is not None:
            return self.metadata
        for url in discovery_urls(self.issuer):
            document = await self._get_json(url, missing_ok=True)
            if document is None:
                continue
            if str(document.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
                raise SignInUnavailableError(f"The metadata at {url} is for another issuer; check CDP_MCP_OAUTH_ISSUER")
            self.metadata = document
            return document
        raise SignInUnavailableError(f"No OpenID or OAuth metadata found for {self.issuer}; check CDP_MCP_OAUTH_ISSUER "
                                   "or set CDP_MCP_OAUTH_JWKS_URL")

    async def refresh(self) -> int:
        """Fetch the key set now (doctor, start-up checks); the number of signing keys found."""
        if not await self._refresh(stale_before=self._clock()):
            raise SignInUnavailableError("The issuer's signing keys cannot be fetched")
        return len(self._cache.keys)

    # -- internals ---------------------------------------------------------------------------------------

    def _lookup(self, kid: str | None) -> dict[str, Any] | None:
        keys = self._cache.keys
        if kid is not None:
            return keys.get(kid)
        if len(keys) == 1:  # a token without kid is fine only when the issuer has exactly one key
            return next(iter(keys.values()))
        if keys:
            raise AccessTokenRejectedError("The token names no key id (kid) and the issuer publishes several keys")
        return None

    async def _refresh(self, *, stale_before: float) -> bool:
        """Fetch unless another task just did; False when only still-valid cached keys are left to serve."""
        async with self._lock:  # one fetch at a time; waiters use what it brought
            cache = self._cache
            if cache.fetched >= stale_before:
                return True
            if self._clock() - cache.failed >= self._retry_after_failure:
                try:
                    url = await self.jwks_url()
                    response = await self._get(url)
                    keys = _signing_keys(response.json())
                except (SignInUnavailableError, httpx2.HTTPError, ValueError) as exc:
                    cache.failed = self._clock()
                    logger.warning("Cannot fetch the OAuth issuer's signing keys (%s)", _describe(exc))
                else:
                    now = self._clock()
                    cache.keys, cache.fetched, cache.expires = keys, now, now + self._lifetime(response)
                    logger.info("OAuth issuer signing keys: %d", len(keys))
                    return True
            if self._clock() < cache.expires:
                return False  # cached keys keep serving until they expire
            raise SignInUnavailableError("The issuer's signing keys cannot be fetched")

    def _lifetime(self, response: httpx2.Response) -> float:
        default, low, high = self._ttl
        match = _MAX_AGE.search(response.headers.get("cache-control", ""))
        return min(max(float(match.group(1)), low), high) if match else default

    async def _get(self, url: str) -> httpx2.Response:
        response = await self._http.get(url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise SignInUnavailableError(f"{url} answered HTTP {response.status_code}")
        if len(response.content) > _JWKS_LIMIT:
            raise SignInUnavailableError(f"{url} answered a document too large to be a key set")
        return response

    async def _get_json(self, url: str, *, missing_ok: bool) -> dict[str, Any] | None:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise SignInUnavailableError(f"Cannot reach {url} ({type(exc).__name__})") from exc
        if missing_ok and response.status_code in (404, 405, 400):
            return None
        if response.status_code != 200:
            raise SignInUnavailableError(f"{url} answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError as exc:
            raise SignInUnavailableError(f"{url} did not answer JSON") from exc
        return document if isinstance(document, dict) else None


def _signing_keys(document: Any) -> dict[str | None, dict[str, Any]]:
    """The signature keys of a JWKS document by kid (encryption keys and malformed entries left out)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK set")
    keys: dict[str | None, dict[str, Any]] = {}
    for jwk in document["keys"]:
        if isinstance(jwk, dict) and isinstance(jwk.get("kty"), str) and jwk.get("use", "sig") == "sig":
            keys[jwk.get("kid") if isinstance(jwk.get("kid"), str) else None] = jwk
    return keys


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, SignInUnavailableError) else type(exc).__name__
