"""The issuer's signing keys: discovered, fetched over HTTP without blocking the event loop, cached, rotated.

Discovery reads `{issuer}/.well-known/openid-configuration`, else the RFC 8414 document
`/.well-known/oauth-authorization-server{issuer path}`, and checks that it names the configured issuer
(a document for another issuer is refused: mix-up protection). `CDP_MCP_OAUTH_JWKS_URL` skips discovery.
An issuer with and without a trailing slash is the same issuer (`same_issuer`): Auth0's end in "/", and
people copy them without it; doctor still says when the configured one is not exactly the issuer's own.

Keys are cached for the JWKS response's `max-age` (bounded: a minute to a day), or CDP_MCP_OAUTH_JWKS_MAX_AGE
(10 minutes by default) when it states none: a withdrawn key stops working within that. A token naming a key id
the cache does not hold triggers a refetch (the issuer rotated its keys). A key id that a fetch just now did
not find is not asked about again for a cooldown, per key id (one attacker-sent kid must not block a real
rotation), and a flood of random key ids costs the issuer a few fetches per cooldown, not one per request.
When the issuer cannot be reached, cached keys keep serving until they expire; after that, or for a key id
only a refetch could settle, `SignInUnavailableError` refuses the request with the seconds until a fetch may
settle it (`retry_after`): a token is never let through unchecked, and a valid token signed with a newly
published key is never refused as invalid. After a failed fetch, further attempts wait a few seconds, so an
outage does not add a network timeout to every request.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import httpx2

from cdp_mcp.errors import AccessTokenRejectedError, SignInUnavailableError
from cdp_mcp.settings import DEFAULT_JWKS_MAX_AGE
from cdp_mcp.version import USER_AGENT

if TYPE_CHECKING:
    from cdp_mcp.settings import OAuthConfig

__all__ = ["IDP_TIMEOUT", "IssuerKeys", "discovery_urls", "idp_client", "issuer_forms", "same_issuer"]

logger = logging.getLogger(__name__)

IDP_TIMEOUT = 5.0
"""Seconds to connect to the identity provider and for each of its answers."""
_MAX_AGE = re.compile(r"max-age=(\d+)")
_JWKS_LIMIT = 512 * 1024  # bytes: a key set is a few KB; more is a misconfiguration or an attack
_MISSING_LIMIT = 1024  # key ids remembered as lacking (oldest forgotten first)


def idp_client() -> httpx2.AsyncClient:
    """The HTTP client for the identity provider (metadata, signing keys, introspection), for the server and
    doctor alike, so doctor's verdict is the server's. Redirects are not followed: the issuer's documents
    are fetched from the URLs it names, and a redirect is reported as the HTTP status it is."""
    return httpx2.AsyncClient(timeout=httpx2.Timeout(IDP_TIMEOUT), headers={"User-Agent": USER_AGENT},
                              follow_redirects=False)


def issuer_forms(issuer: str) -> tuple[str, str]:
    """The issuer without and with a trailing slash: the `iss` values accepted for it."""
    bare = issuer.rstrip("/")
    return bare, bare + "/"


def same_issuer(a: str, b: str) -> bool:
    """Whether two issuer identifiers name the same issuer (equal but for one trailing slash)."""
    return a in issuer_forms(b)


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
    failed: float = float("-inf")  # monotonic time of the last failed fetch
    attempts: deque[float] = field(default_factory=deque)  # monotonic times of recent fetch attempts
    missing: dict[str | None, float] = field(default_factory=dict)  # kid -> when a fresh fetch lacked it
    failure: str | None = None  # why the last fetch failed (no URL, no token: a fixed sentence or a type name)


class IssuerKeys:
    """The signing keys of one issuer (JWKS), cached and refreshed as described in the module docstring.

    Args:
        issuer: the issuer identifier (`CDP_MCP_OAUTH_ISSUER`).
        http: the client to fetch with (the caller closes it).
        jwks_url: skips discovery (`CDP_MCP_OAUTH_JWKS_URL`).
        cache_seconds: how long keys live when the response states no `max-age`.
        min_seconds, max_seconds: bounds on a stated `max-age`.
        refetch_cooldown: seconds before a key id a fresh fetch lacked is asked about again.
        refetch_budget: fetches at most in any `refetch_cooldown` seconds for key ids the cache lacks.
        retry_after_failure: seconds before trying again after a failed fetch.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(self, issuer: str, http: httpx2.AsyncClient, *, jwks_url: str | None = None,
                 cache_seconds: float = DEFAULT_JWKS_MAX_AGE, min_seconds: float = 60, max_seconds: float = 86400,
                 refetch_cooldown: float = 10, refetch_budget: int = 5, retry_after_failure: float = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self._http = http
        self._jwks_url = jwks_url
        self._ttl = (cache_seconds, min_seconds, max_seconds)
        self._cooldown = refetch_cooldown
        self._budget = refetch_budget
        self._retry_after_failure = retry_after_failure
        self._clock = clock
        self._cache = _Cache()
        self._lock = anyio.Lock()
        self.metadata: dict[str, Any] | None = None

    @classmethod
    def for_config(cls, config: OAuthConfig, http: httpx2.AsyncClient, *,
                   clock: Callable[[], float] = time.monotonic) -> IssuerKeys:
        """The keys of the configured issuer, as the server and doctor fetch them."""
        return cls(config.issuer, http, jwks_url=config.jwks_url, cache_seconds=config.jwks_max_age, clock=clock)

    def __repr__(self) -> str:
        return f"IssuerKeys({self.issuer!r}, {len(self._cache.keys)} key(s) cached)"

    async def key_for(self, kid: str | None) -> dict[str, Any]:
        """The JWK for a token's key id.

        Raises:
            AccessTokenRejectedError: a fetch made for this request does not have that key, or kid is ambiguous.
            SignInUnavailableError: only a fetch could settle it and none can be made now (`retry_after` says when).
        """
        now = self._clock()
        cache = self._cache
        if now < cache.expires:
            found = self._lookup(kid)
            if found is not None:
                return found
            self._hold_off(kid, now)
        fresh = await self._refresh(stale_before=now)
        found = self._lookup(kid)
        if found is None:
            if not fresh:  # only a fetch could tell a rotated key from a forged one
                raise SignInUnavailableError("The issuer's signing keys cannot be fetched to check a new key id",
                                             retry_after=self._next_attempt())
            self._remember_missing(kid)
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
            named = str(document.get("issuer", ""))
            if not same_issuer(named, self.issuer):
                raise SignInUnavailableError(f"The metadata at {url} names issuer {named[:200]}, not {self.issuer}: "
                                             "it is for another issuer; check CDP_MCP_OAUTH_ISSUER")
            self.metadata = document
            return document
        raise SignInUnavailableError(f"No OpenID or OAuth metadata found for {self.issuer}; check CDP_MCP_OAUTH_ISSUER "
                                     "or set CDP_MCP_OAUTH_JWKS_URL")

    async def problem(self) -> str | None:
        """For /readyz: None while signing keys are loaded (fetched now if none are); else why none can be used.
        A failed fetch is retried at most every few seconds, however often this is asked."""
        if self._clock() < self._cache.expires and self._cache.keys:
            return None
        try:
            await self._refresh(stale_before=self._clock())
        except SignInUnavailableError as exc:
            return f"{exc.message} ({self._cache.failure})" if self._cache.failure else exc.message
        return None if self._cache.keys else "the issuer publishes no signing keys"

    async def refresh(self) -> int:
        """Fetch the key set now (doctor, start-up checks); the number of signing keys found."""
        if not await self._refresh(stale_before=self._clock()):
            raise SignInUnavailableError("The issuer's signing keys cannot be fetched")
        return len(self._cache.keys)

    # -- internals ---------------------------------------------------------------------------------------

    def _hold_off(self, kid: str | None, now: float) -> None:
        """Refuse to fetch for a kid the cache lacks, for now: one that a fetch just lacked, or any while recent
        fetches have used up the budget. Never a verdict on the token: it may be signed with a key published
        a moment ago."""
        cache = self._cache
        lacked = cache.missing.get(kid)
        if lacked is not None and now - lacked < self._cooldown:
            raise SignInUnavailableError("The token's key id was not published a moment ago; asking the issuer "
                                         "again shortly", retry_after=self._cooldown - (now - lacked), outage=False)
        recent = [t for t in cache.attempts if now - t < self._cooldown]
        if len(recent) >= self._budget:
            raise SignInUnavailableError("Too many unknown key ids lately to ask the issuer about another one now",
                                         retry_after=self._cooldown - (now - recent[0]), outage=False)

    def _remember_missing(self, kid: str | None) -> None:
        missing = self._cache.missing
        missing.pop(kid, None)
        missing[kid] = self._clock()
        while len(missing) > _MISSING_LIMIT:
            del missing[next(iter(missing))]

    def _next_attempt(self) -> float:
        """Seconds until the pause after a failed fetch ends (at least a moment)."""
        return max(0.5, self._retry_after_failure - (self._clock() - self._cache.failed))

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
                cache.attempts.append(self._clock())
                while len(cache.attempts) > self._budget:
                    cache.attempts.popleft()
                try:
                    url = await self.jwks_url()
                    response = await self._get(url)
                    keys = _signing_keys(response.json())
                except (SignInUnavailableError, httpx2.HTTPError, ValueError, RecursionError) as exc:
                    cache.failed, cache.failure = self._clock(), _describe(exc)
                    logger.warning("Cannot fetch the OAuth issuer's signing keys (%s)", cache.failure)
                else:
                    now = self._clock()
                    cache.keys, cache.fetched, cache.expires = keys, now, now + self._lifetime(response)
                    cache.failure = None
                    logger.info("OAuth issuer signing keys: %d", len(keys))
                    return True
            if self._clock() < cache.expires:
                return False  # cached keys keep serving until they expire
            raise SignInUnavailableError("The issuer's signing keys cannot be fetched",
                                         retry_after=self._next_attempt())

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
        except (ValueError, RecursionError) as exc:
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
