"""Access-token verifiers (the SDK's `TokenVerifier` protocol): signed JWTs, or RFC 7662 introspection.

`JwtVerifier` checks, in order: shape and size, the header's algorithm against the allowlist (never `none`,
never HS*), the signing key (by `kid`, from the issuer's JWKS, see `keys.py`; a JWK that states its own
`alg` must match), then PyJWT checks the signature, `iss`, `aud` (RFC 8707: this server's resource, or
CDP_MCP_OAUTH_AUDIENCE), `exp`, `nbf` and `iat` with a small leeway. `IntrospectionVerifier` asks the
issuer about tokens it cannot read (opaque), caching answers briefly.

Both expose `check(token)`, which says why a token is refused (`TokenRejectedError`) or that it cannot be
checked now (`KeysUnavailableError`); `verify_token` is the SDK's yes/no form. Reasons are fixed sentences:
never the token, its claims or anything else the caller sent. Scopes come from `scope` (space-separated),
`scp` (string or list: Okta, Entra ID) and `roles` / `permissions` (Entra app roles, Auth0 RBAC), normalised
by `grants.normalise_scopes`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

from cdp_mcp.grants import normalise_scopes
from cdp_mcp.team.config import OAuthConfig
from cdp_mcp.team.keys import IssuerKeys, KeysUnavailableError, TokenRejectedError

__all__ = ["LEEWAY", "MAX_TOKEN_LENGTH", "CheckingVerifier", "IntrospectionVerifier", "JwtVerifier",
           "scopes_of"]

logger = logging.getLogger(__name__)

LEEWAY = 30
"""Seconds of clock skew tolerated on exp, nbf and iat."""
MAX_TOKEN_LENGTH = 16 * 1024
_SCOPE_CLAIMS = ("scope", "scp", "roles", "permissions")
_CLIENT_CLAIMS = ("client_id", "azp", "appid", "cid")
_REQUIRED = ["exp", "iss", "aud"]
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "The access token expired"),
    (jwt.ImmatureSignatureError, "The access token is not valid yet"),
    (jwt.InvalidAudienceError, "The access token was not issued for this server (audience)"),
    (jwt.InvalidIssuerError, "The access token was issued by another issuer"),
    (jwt.InvalidSignatureError, "The access token signature does not verify"),
    (jwt.MissingRequiredClaimError, "The access token lacks exp, iss or aud"),
    (jwt.InvalidAlgorithmError, "The access token is signed with an algorithm this server does not accept"),
    (jwt.DecodeError, "The access token is malformed"),
)


class CheckingVerifier(Protocol):
    """A TokenVerifier that can also say why it refuses."""

    async def check(self, token: str) -> AccessToken: ...

    async def verify_token(self, token: str) -> AccessToken | None: ...


def scopes_of(claims: dict[str, Any]) -> list[str]:
    """Every scope-like value the claims carry, normalised and sorted."""
    values: list[str] = []
    for name in _SCOPE_CLAIMS:
        claim = claims.get(name)
        if isinstance(claim, str):
            values += claim.split()
        elif isinstance(claim, list):
            values += [v for v in claim if isinstance(v, str)]
    return sorted(normalise_scopes(values))


def _client_id(claims: dict[str, Any]) -> str:
    found = next((claims[c] for c in _CLIENT_CLAIMS if isinstance(claims.get(c), str) and claims[c]), None)
    return found or str(claims.get("sub") or "unknown")


def _access_token(token: str, claims: dict[str, Any], config: OAuthConfig) -> AccessToken:
    exp = claims.get("exp")
    subject = claims.get("sub")
    return AccessToken(token=token, client_id=_client_id(claims), scopes=scopes_of(claims),
                       expires_at=int(exp) if isinstance(exp, int | float) else None, resource=config.resource,
                       subject=subject if isinstance(subject, str) else None,
                       claims={"iss": claims.get("iss", config.issuer)})


class _Verifier:
    """`verify_token` for the SDK, in terms of `check`."""

    async def check(self, token: str) -> AccessToken:
        raise NotImplementedError

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            return await self.check(token)
        except (TokenRejectedError, KeysUnavailableError):
            return None


class JwtVerifier(_Verifier):
    """Verifies JWT access tokens locally against the issuer's published keys."""

    def __init__(self, config: OAuthConfig, keys: IssuerKeys, *, leeway: float = LEEWAY) -> None:
        self._config = config
        self._keys = keys
        self._leeway = leeway

    def __repr__(self) -> str:
        return f"JwtVerifier(issuer={self._config.issuer!r}, audience={self._config.audience!r})"

    async def check(self, token: str) -> AccessToken:
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise TokenRejectedError("The access token is malformed (not a signed JWT)")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRejectedError("The access token is malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._config.algorithms:
            raise TokenRejectedError("The access token is signed with an algorithm this server does not accept")
        jwk = await self._keys.key_for(kid if isinstance(kid, str) else None)
        if jwk.get("alg", alg) != alg:
            raise TokenRejectedError("The access token's algorithm does not match its signing key")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
            claims = jwt.decode(token, key, algorithms=[alg], audience=self._config.audience,
                                issuer=self._config.issuer, leeway=self._leeway,
                                options={"require": _REQUIRED, "verify_iat": True})
        except jwt.PyJWKError:
            raise TokenRejectedError("The access token's signing key cannot be used with its algorithm") from None
        except jwt.InvalidTokenError as exc:
            reason = next((text for kind, text in _REFUSALS if isinstance(exc, kind)), "The access token is invalid")
            raise TokenRejectedError(reason) from None
        return _access_token(token, claims, self._config)


class IntrospectionVerifier(_Verifier):
    """Asks the issuer's RFC 7662 endpoint about each token (answers cached for `cache_seconds` at most).

    The endpoint must say the token is active, for this issuer (when it names one) and for this server's
    audience; expiry and not-before are checked here too. Refusals and failures are not cached.
    """

    def __init__(self, config: OAuthConfig, http: httpx2.AsyncClient, *, cache_seconds: float = 60,
                 leeway: float = LEEWAY, cache_size: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        if config.introspection is None:
            raise ValueError("introspection is not configured")
        self._config = config
        self._endpoint = config.introspection
        self._http = http
        self._cache_seconds = cache_seconds
        self._leeway = leeway
        self._cache: OrderedDict[str, tuple[float, AccessToken]] = OrderedDict()
        self._cache_size = cache_size
        self._clock = clock

    def __repr__(self) -> str:
        return f"IntrospectionVerifier({self._endpoint.url!r})"

    async def check(self, token: str) -> AccessToken:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenRejectedError("The access token is malformed")
        digest = hashlib.sha256(token.encode()).hexdigest()  # the cache never holds the token itself as a key
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        claims = await self._introspect(token)
        access = self._accept(token, claims, now)
        until = min(now + self._cache_seconds, access.expires_at or now + self._cache_seconds)
        self._cache[digest] = (until, access)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return access

    async def _introspect(self, token: str) -> dict[str, Any]:
        auth = (self._endpoint.client_id, self._endpoint.client_secret.get_secret_value())
        try:
            response = await self._http.post(self._endpoint.url, data={"token": token,
                                                                       "token_type_hint": "access_token"},
                                             auth=auth, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            logger.warning("Cannot reach the token introspection endpoint (%s)", type(exc).__name__)
            raise KeysUnavailableError("The token introspection endpoint cannot be reached") from exc
        if response.status_code != 200:
            logger.warning("The token introspection endpoint answered HTTP %d%s", response.status_code,
                           " (check CDP_MCP_OAUTH_CLIENT_ID / CDP_MCP_OAUTH_CLIENT_SECRET)"
                           if response.status_code in (400, 401, 403) else "")
            raise KeysUnavailableError("The token introspection endpoint refused to answer")
        try:
            claims = response.json()
        except ValueError as exc:
            raise KeysUnavailableError("The token introspection endpoint did not answer JSON") from exc
        if not isinstance(claims, dict):
            raise KeysUnavailableError("The token introspection endpoint did not answer a JSON object")
        return claims

    def _accept(self, token: str, claims: dict[str, Any], now: float) -> AccessToken:
        if claims.get("active") is not True:
            raise TokenRejectedError("The access token is not active (expired, revoked or unknown)")
        if "iss" in claims and str(claims["iss"]).rstrip("/") != self._config.issuer.rstrip("/"):
            raise TokenRejectedError("The access token was issued by another issuer")
        if self._config.audience not in _as_list(claims.get("aud")):
            raise TokenRejectedError("The access token was not issued for this server (audience)")
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if isinstance(exp, int | float) and exp < now - self._leeway:
            raise TokenRejectedError("The access token expired")
        if isinstance(nbf, int | float) and nbf > now + self._leeway:
            raise TokenRejectedError("The access token is not valid yet")
        return _access_token(token, {**claims, "iss": claims.get("iss", self._config.issuer)}, self._config)


def _as_list(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return value.split() if " " in value else [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
