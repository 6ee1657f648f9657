"""Access-token verifiers (the SDK's `TokenVerifier` protocol): signed JWTs, or RFC 7662 introspection.

`JwtVerifier` checks, in order: shape and size, the header's algorithm against the allowlist (never `none`,
never HS*), the signing key (by `kid`, from the issuer's JWKS, see `keys.py`; a JWK that states its own
`alg` must match), then PyJWT checks the signature, `iss` (with or without a trailing slash), `aud` (RFC
8707: this server's resource, or CDP_MCP_OAUTH_AUDIENCE), `exp`, `nbf` and `iat` with a small leeway.
`IntrospectionVerifier` asks the issuer about tokens it cannot read (opaque). Both remember accepted tokens
briefly (a minute at most, never past their expiry), since a client sends the same token with every request.

ID tokens are never access tokens: a JWT carrying `nonce` or `at_hash` is refused, and once the issuer has
signed one access token typed `at+jwt` (RFC 9068), a JWT of another `typ` from it is refused too (learnt per
process: issuers that type their access tokens type all of them; those that do not are unaffected).

Both expose `check(token)`, which says why a token is refused (`AccessTokenRejectedError`) or that it cannot be
checked now (`SignInUnavailableError`); `verify_token` is the SDK's yes/no form. Reasons are fixed sentences:
never the token, its claims or anything else the caller sent. Scopes come from `scope` (space-separated),
`scp` (string or list: Okta, Entra ID) and `roles` / `permissions` (Entra app roles, Auth0 RBAC), normalised
by `grants.normalise_scopes` (CDP_MCP_SCOPE_PREFIX, `cdp.` and `cdp:` spellings alike).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, Protocol

import httpx2
import jwt
from mcp.server.auth.provider import AccessToken

from cdp_mcp.access.caller import MACHINE_PREFIX, machine_principal
from cdp_mcp.errors import AccessTokenRejectedError, SignInUnavailableError
from cdp_mcp.grants import SCOPE_PREFIX, normalise_scopes
from cdp_mcp.settings import OAuthConfig
from cdp_mcp.sign_in.keys import IssuerKeys, issuer_forms, same_issuer

__all__ = ["LEEWAY", "MAX_TOKEN_LENGTH", "CheckingVerifier", "IntrospectionVerifier", "JwtVerifier",
           "credentials_refused", "principal_of", "scopes_of", "token_digest"]

logger = logging.getLogger(__name__)

LEEWAY = 30
"""Seconds of clock skew tolerated on exp, nbf and iat."""
MAX_TOKEN_LENGTH = 16 * 1024
_SCOPE_CLAIMS = ("scope", "scp", "roles", "permissions")
_CLIENT_CLAIMS = ("client_id", "azp", "appid", "cid")
_REQUIRED = ["exp", "iss", "aud"]
_ID_TOKEN_CLAIMS = frozenset({"nonce", "at_hash"})
"""Claims only an OpenID Connect ID token carries: such a token names who signed in to a client, and its `aud`
is that client, which some set-ups make this server's audience too (Entra ID with one app registration)."""
_PROBE_TOKEN = "cdp-mcp-readiness-probe"
"""Not a credential: a token no issuer knows, introspected to see the endpoint answer (it says inactive)."""
_PROBE_EVERY = 5.0
"""Seconds between two readiness probes of the introspection endpoint (kubelets may ask more often)."""
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


def scopes_of(claims: dict[str, Any], prefix: str = SCOPE_PREFIX) -> list[str]:
    """Every scope-like value the claims carry, normalised (`prefix`: CDP_MCP_SCOPE_PREFIX) and sorted."""
    values: list[str] = []
    for name in _SCOPE_CLAIMS:
        claim = claims.get(name)
        if isinstance(claim, str):
            values += claim.split()
        elif isinstance(claim, list):
            values += [v for v in claim if isinstance(v, str)]
    return sorted(normalise_scopes(values, prefix))


def _client_id(claims: dict[str, Any]) -> str:
    found = next((claims[c] for c in _CLIENT_CLAIMS if isinstance(claims.get(c), str) and claims[c]), None)
    return found or str(claims.get("sub") or "unknown")


def token_digest(token: str) -> str:
    """What is kept of a caller's token: `sha256:` and its hex digest (the verdict cache's key, `AccessToken.token`).

    The SDK never reads `AccessToken.token` back on a resource server, so no raw user token sits in the verdict
    cache or in any object whose repr could print it.
    """
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def _is_machine(claims: dict[str, Any], client_id: str) -> bool:
    """A token a client obtained for itself (client credentials), with no person in it: no `sub`, or the `sub`
    well-known issuers give such tokens (the client id: Okta, oidc-provider; `<client id>@clients`: Auth0; the
    service principal's `oid`: Entra ID), or Entra's `idtyp` of `app`. (Keycloak's service accounts are users of
    their own, named `service-account-<client>` in `preferred_username`.)"""
    sub = claims.get("sub")
    return (not isinstance(sub, str) or not sub or sub in (client_id, f"{client_id}@clients")
            or claims.get("idtyp") == "app" or (isinstance(claims.get("oid"), str) and sub == claims.get("oid")))


def principal_of(claims: dict[str, Any], claim: str, client_id: str) -> str:
    """Who the token speaks for, in audit lines and rate limits: the person named by `claim`
    (CDP_MCP_OAUTH_PRINCIPAL_CLAIM), or `client:<client id>` for a machine token; the prefix is reserved, so
    the two cannot be confused."""
    if _is_machine(claims, client_id):
        return machine_principal(client_id)
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise AccessTokenRejectedError(f"The access token lacks the {claim} claim that names the person "
                                       "(CDP_MCP_OAUTH_PRINCIPAL_CLAIM)")
    if value.startswith(MACHINE_PREFIX):
        raise AccessTokenRejectedError(f"The access token names its person with the reserved prefix {MACHINE_PREFIX}")
    return value


def _access_token(token: str, claims: dict[str, Any], config: OAuthConfig) -> AccessToken:
    exp = claims.get("exp")
    subject = claims.get("sub")
    client_id = _client_id(claims)
    return AccessToken(token=token_digest(token), client_id=client_id, scopes=scopes_of(claims, config.scope_prefix),
                       expires_at=int(exp) if isinstance(exp, int | float) else None, resource=config.resource,
                       subject=subject if isinstance(subject, str) else None,
                       claims={"iss": claims.get("iss", config.issuer),
                               "principal": principal_of(claims, config.principal_claim, client_id)})


class _Verifier:
    """`check` with a short memory of tokens already accepted, and `verify_token` for the SDK in its terms.

    A client sends the same token with every request: remembering the verdict (keyed by the token's digest,
    for `cache_seconds` at most and never past its expiry) spares a signature check or an introspection
    round trip per request. Refusals are never remembered. The verdict holds the digest, not the token.
    """

    def __init__(self, *, cache_seconds: float, cache_size: int = 10_000,
                 clock: Callable[[], float] = time.time) -> None:
        self._cache_seconds = cache_seconds
        self._cache: OrderedDict[str, tuple[float, AccessToken]] = OrderedDict()
        self._cache_size = cache_size
        self._clock = clock

    async def _verify(self, token: str) -> AccessToken:
        raise NotImplementedError

    def _still_good(self, access: AccessToken) -> bool:
        """Whether a remembered verdict still stands (a JWT's key may have been withdrawn since)."""
        del access
        return True

    async def check(self, token: str) -> AccessToken:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise AccessTokenRejectedError("The access token is malformed")
        digest = token_digest(token)  # the cache never holds the token itself
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now and self._still_good(cached[1]):
            return cached[1]
        access = await self._verify(token)
        until = min(now + self._cache_seconds, access.expires_at or now + self._cache_seconds)
        self._cache[digest] = (until, access)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return access

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            return await self.check(token)
        except (AccessTokenRejectedError, SignInUnavailableError):
            return None


class JwtVerifier(_Verifier):
    """Verifies JWT access tokens locally against the issuer's published keys."""

    def __init__(self, config: OAuthConfig, keys: IssuerKeys, *, leeway: float = LEEWAY,
                 cache_seconds: float = 60) -> None:
        super().__init__(cache_seconds=cache_seconds)
        self._config = config
        self._keys = keys
        self._leeway = leeway
        self._parsed: dict[tuple[str, str], jwt.PyJWK] = {}
        self._typed = False  # this issuer's access tokens carry typ at+jwt (learnt from the first one that does)

    def __repr__(self) -> str:
        return f"JwtVerifier(issuer={self._config.issuer!r}, audience={self._config.audience!r})"

    async def problem(self) -> str | None:
        """For /readyz: None while the issuer's signing keys are loaded (see `IssuerKeys.problem`)."""
        return await self._keys.problem()

    async def _verify(self, token: str) -> AccessToken:
        header = _header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._config.algorithms:
            raise AccessTokenRejectedError("The access token is signed with an algorithm this server does not accept")
        jwk = await self._keys.key_for(kid if isinstance(kid, str) else None)
        if jwk.get("alg", alg) != alg:
            raise AccessTokenRejectedError("The access token's algorithm does not match its signing key")
        try:
            key = self._key(jwk, alg)
            claims = jwt.decode(token, key, algorithms=[alg], audience=self._config.audience,
                                issuer=issuer_forms(self._config.issuer), leeway=self._leeway,
                                options={"require": _REQUIRED, "verify_iat": True})
        except jwt.PyJWKError:
            raise AccessTokenRejectedError("The access token's signing key cannot be used with its algorithm") from None
        except jwt.InvalidTokenError as exc:
            reason = next((text for kind, text in _REFUSALS if isinstance(exc, kind)), "The access token is invalid")
            raise AccessTokenRejectedError(reason) from None
        if _ID_TOKEN_CLAIMS & claims.keys():
            raise AccessTokenRejectedError("The token is an ID token, not an access token")
        typed = _is_access_token_type(header.get("typ"))
        if self._typed and not typed:
            raise AccessTokenRejectedError("The token is not typed at+jwt, as this issuer's access tokens are "
                                           "(RFC 9068)")
        self._typed = self._typed or typed
        access = _access_token(token, claims, self._config)
        return access.model_copy(update={"claims": {**(access.claims or {}), "kid": jwk.get("kid"), "typed": typed}})

    def _still_good(self, access: AccessToken) -> bool:
        claims = access.claims or {}
        return self._keys.holds(claims.get("kid")) and (claims.get("typed") or not self._typed)

    def _key(self, jwk: dict[str, Any], alg: str) -> jwt.PyJWK:
        """The parsed key, kept while its JWK is the same (parsing costs more than verifying)."""
        ident = (json.dumps(jwk, sort_keys=True), alg)
        key = self._parsed.get(ident)
        if key is None:
            if len(self._parsed) > 64:  # rotated-out keys
                self._parsed.clear()
            key = self._parsed[ident] = jwt.PyJWK(jwk, algorithm=alg)
        return key


def _is_access_token_type(typ: object) -> bool:
    """RFC 9068 2.1: `at+jwt`, or its media type `application/at+jwt`, compared without regard to case."""
    return isinstance(typ, str) and typ.lower().removeprefix("application/") == "at+jwt"


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read without the payload (PyJWT then checks the whole token, header included)."""
    segments = token.split(".")
    if len(segments) != 3 or not segments[0]:
        raise AccessTokenRejectedError("The access token is malformed (not a signed JWT)")
    try:
        header = json.loads(base64.urlsafe_b64decode(segments[0] + "=" * (-len(segments[0]) % 4)))
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep for the parser
        raise AccessTokenRejectedError("The access token is malformed") from None
    if not isinstance(header, dict):
        raise AccessTokenRejectedError("The access token is malformed")
    return header


class IntrospectionVerifier(_Verifier):
    """Asks the issuer's RFC 7662 endpoint about each token (answers cached for `cache_seconds` at most).

    The endpoint must say the token is active, for this issuer (when it names one) and for this server's
    audience; expiry and not-before are checked here too. Refusals and failures are not cached.
    """

    def __init__(self, config: OAuthConfig, http: httpx2.AsyncClient, *, cache_seconds: float = 60,
                 leeway: float = LEEWAY, cache_size: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        if config.introspection is None:
            raise ValueError("introspection is not configured")
        super().__init__(cache_seconds=cache_seconds, cache_size=cache_size, clock=clock)
        self._config = config
        self._endpoint = config.introspection
        self._http = http
        self._leeway = leeway
        self._probed: tuple[float, str | None] = (float("-inf"), None)  # when problem() asked, and what it found

    def __repr__(self) -> str:
        return f"IntrospectionVerifier({self._endpoint.url!r})"

    async def problem(self) -> str | None:
        """For /readyz: None when the endpoint answers an introspection (of a token nobody holds) with this
        server's credentials; else why it does not. Asked at most every `_PROBE_EVERY` seconds."""
        now = self._clock()
        if now - self._probed[0] < _PROBE_EVERY:
            return self._probed[1]
        try:
            await self._introspect(_PROBE_TOKEN)
        except SignInUnavailableError as exc:
            self._probed = (now, exc.message)
        else:
            self._probed = (now, None)
        return self._probed[1]

    async def _verify(self, token: str) -> AccessToken:
        return self._accept(token, await self._introspect(token), self._clock())

    async def _introspect(self, token: str) -> dict[str, Any]:
        auth = (self._endpoint.client_id, self._endpoint.client_secret.get_secret_value())
        try:
            response = await self._http.post(self._endpoint.url, data={"token": token,
                                                                       "token_type_hint": "access_token"},
                                             auth=auth, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            logger.warning("Cannot reach the token introspection endpoint (%s)", type(exc).__name__)
            raise SignInUnavailableError("The token introspection endpoint cannot be reached") from exc
        if response.status_code != 200:
            _refusal(response)
        try:
            claims = response.json()
        except (ValueError, RecursionError) as exc:
            raise SignInUnavailableError("The token introspection endpoint did not answer JSON") from exc
        if not isinstance(claims, dict):
            raise SignInUnavailableError("The token introspection endpoint did not answer a JSON object")
        return claims

    def _accept(self, token: str, claims: dict[str, Any], now: float) -> AccessToken:
        if claims.get("active") is not True:
            raise AccessTokenRejectedError("The access token is not active (expired, revoked or unknown)")
        if "iss" in claims and not same_issuer(str(claims["iss"]), self._config.issuer):
            raise AccessTokenRejectedError("The access token was issued by another issuer")
        if self._config.audience not in _as_list(claims.get("aud")):
            raise AccessTokenRejectedError("The access token was not issued for this server (audience)")
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if isinstance(exp, int | float) and exp < now - self._leeway:
            raise AccessTokenRejectedError("The access token expired")
        if isinstance(nbf, int | float) and nbf > now + self._leeway:
            raise AccessTokenRejectedError("The access token is not valid yet")
        return _access_token(token, {**claims, "iss": claims.get("iss", self._config.issuer)}, self._config)


_ENDPOINT_TROUBLE = frozenset({404, 405, 408, 429})
"""4xx answers about the endpoint (absent, busy), not about the token."""


def _error_code(response: httpx2.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, RecursionError, AttributeError):
        return None
    return error if isinstance(error, str) and error.isidentifier() else None


def credentials_refused(response: httpx2.Response) -> bool:
    """Whether an introspection answer refuses this server's client credentials (RFC 6749 5.2: `invalid_client`,
    or HTTP 401), as opposed to the token it was asked about (the server and doctor judge alike)."""
    return response.status_code == 401 or _error_code(response) == "invalid_client"


def _refusal(response: httpx2.Response) -> NoReturn:
    """Judge an introspection answer other than 200: this server's credentials refused, the endpoint in trouble
    (5xx, absent, busy), or the token refused (any other 4xx, e.g. `unsupported_token_type`), which is the
    caller's 401 and never blames the credentials."""
    status, error = response.status_code, _error_code(response)
    if credentials_refused(response):
        logger.warning("The token introspection endpoint refused this server's credentials (HTTP %d): check "
                       "CDP_MCP_OAUTH_CLIENT_ID / CDP_MCP_OAUTH_CLIENT_SECRET", status)
        raise SignInUnavailableError("The token introspection endpoint refused this server's credentials")
    if 400 <= status < 500 and status not in _ENDPOINT_TROUBLE:
        logger.info("The token introspection endpoint refused the token (HTTP %d%s)", status,
                    f", {error}" if error else "")
        raise AccessTokenRejectedError("The issuer does not accept this access token")
    logger.warning("The token introspection endpoint answered HTTP %d%s", status,
                   " (check CDP_MCP_OAUTH_INTROSPECTION_URL)" if status in (404, 405) else "")
    raise SignInUnavailableError("The token introspection endpoint cannot answer right now")


def _as_list(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return value.split() if " " in value else [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
