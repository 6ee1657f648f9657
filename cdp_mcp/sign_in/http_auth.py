"""The OAuth 2.1 resource server around `/mcp`, assembled from the SDK's auth layer.

What the SDK provides and is used as is: the `TokenVerifier` protocol and `AccessToken`, Starlette's
`AuthenticationMiddleware` with the SDK's `BearerAuthBackend`, `AuthContextMiddleware` (so a tool reads the
caller's token with `get_access_token()`), `RequireAuthMiddleware`, and the RFC 9728 metadata routes.
What is added, because the SDK's wiring (`MCPServer(auth=...)`) does not do it:

- `scopes_supported` in the metadata lists every grant scope (named as CDP_MCP_SCOPE_PREFIX says), while no
  single scope is required of all callers (the SDK uses one list for both); the metadata is served at the root
  and path-suffixed URLs;
- a 401 says why a token was refused (`error="invalid_token"` and a fixed `error_description`), a request
  without a token gets the challenge RFC 6750 3.1 asks for (no error information; the `scope` a host should ask
  for), and a token reaching no resource gets 403 `insufficient_scope` with the `scope` to ask for; every
  challenge names `resource_metadata`;
- a token that cannot be checked now (the issuer's keys unreachable) gets 503 with Retry-After, never a pass.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.authentication import AuthCredentials
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cdp_mcp.errors import AccessTokenRejectedError, SignInUnavailableError
from cdp_mcp.grants import BROAD_SCOPE, GRANTS, SCOPES_SUPPORTED, advertised, granted_resources
from cdp_mcp.settings import MCP_PATH, OAuthConfig
from cdp_mcp.sign_in.keys import IssuerKeys, idp_client
from cdp_mcp.sign_in.verifiers import CheckingVerifier, IntrospectionVerifier, JwtVerifier

__all__ = ["METADATA_PATH", "RETRY_AFTER", "ResourceServer", "SignInRequired", "VerifyingBearerBackend"]

logger = logging.getLogger(__name__)

METADATA_PATH = "/.well-known/oauth-protected-resource"
RETRY_AFTER = 10
"""Seconds a client is asked to wait when tokens cannot be checked (the issuer unreachable), at most: less when
the wait is known (until the next fetch of the issuer's keys may be made)."""
_REFUSAL = "cdp_mcp.auth_refusal"


@dataclass(frozen=True, slots=True)
class _Refusal:
    status: int
    error: str | None
    description: str
    scope: str | None = None
    retry_after: int = RETRY_AFTER  # seconds, for a 503


def _sign_in(prefix: str) -> _Refusal:
    """No token: RFC 6750 3.1 wants no error information in the challenge, and its `scope` is what hosts ask the
    issuer for (the MCP SDK's client takes it before `scopes_supported`): the least that makes the server useful.
    Asking for everything would make issuers that refuse a scope someone lacks refuse the whole sign-in."""
    return _Refusal(401, None, "Sign in: send an OAuth access token as Authorization: Bearer <token>",
                    scope=advertised(BROAD_SCOPE, prefix))


def _no_grant(prefix: str) -> _Refusal:
    """A token reaching no resource (`cdp:pii` alone reaches nothing)."""
    reaching = ", ".join(advertised(g.scope, prefix) for g in GRANTS if g.resources)
    return _Refusal(403, "insufficient_scope", f"The token grants none of this server's scopes ({reaching})",
                    scope=advertised(BROAD_SCOPE, prefix))


_UNAVAILABLE = _Refusal(503, "temporarily_unavailable",
                        "Access tokens cannot be checked right now: the issuer's keys or introspection endpoint "
                        "are unreachable. Retry shortly.")


class VerifyingBearerBackend(BearerAuthBackend):
    """The SDK's bearer backend, keeping the reason a token was refused for the challenge to state."""

    def __init__(self, verifier: CheckingVerifier) -> None:
        super().__init__(verifier)  # the verifier checks the audience itself (RFC 8707), so no resource_server_url
        self._checker = verifier

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, AuthenticatedUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None  # another scheme is no credential of ours: the bare challenge follows
        try:
            access = await self._checker.check(token.strip())
        except AccessTokenRejectedError as exc:
            logger.info("Refused an access token: %s", exc.reason)
            conn.scope[_REFUSAL] = _Refusal(401, "invalid_token", exc.reason)
            return None
        except SignInUnavailableError as exc:
            logger.log(logging.WARNING if exc.outage else logging.INFO, "Could not check an access token: %s", exc)
            wait = RETRY_AFTER if exc.retry_after is None else min(RETRY_AFTER, max(1, math.ceil(exc.retry_after)))
            conn.scope[_REFUSAL] = replace(_UNAVAILABLE, retry_after=wait)
            return None
        return AuthCredentials(access.scopes), AuthenticatedUser(access)


class SignInRequired(RequireAuthMiddleware):
    """Lets through only callers whose token verified and reaches at least one resource."""

    def __init__(self, app: ASGIApp, resource_metadata_url: AnyHttpUrl, *, scope_prefix: str) -> None:
        super().__init__(app, required_scopes=[], resource_metadata_url=resource_metadata_url)
        self._sign_in, self._no_grant = _sign_in(scope_prefix), _no_grant(scope_prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            refusal: _Refusal = scope.get(_REFUSAL) or self._sign_in
        elif not granted_resources(frozenset(user.scopes)):
            refusal = self._no_grant
        else:
            await self.app(scope, receive, send)
            return
        await self._refuse(refusal, scope, receive, send)

    async def _refuse(self, refusal: _Refusal, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {}
        if refusal.status == 503:
            headers["Retry-After"] = str(refusal.retry_after)
        else:
            described = refusal.description if refusal.error else None  # the body still says it to a person
            parts = [f'{key}="{value}"' for key, value in (
                ("error", refusal.error), ("error_description", described), ("scope", refusal.scope),
                ("resource_metadata", str(self.resource_metadata_url))) if value]
            headers["WWW-Authenticate"] = "Bearer " + ", ".join(parts)
        body = {"error": refusal.error or "unauthorized", "error_description": refusal.description}
        await JSONResponse(body, status_code=refusal.status, headers=headers)(scope, receive, send)


class ResourceServer:
    """The sign-in pieces for one configuration: verifier, metadata routes, middleware, guarded endpoint.

    Args:
        config: the checked OAuth configuration.
        verifier: replaces the default (JWKS, or introspection when configured); tests pass their own.
    """

    def __init__(self, config: OAuthConfig, *, verifier: CheckingVerifier | None = None) -> None:
        self.config = config
        self._http = idp_client()
        self.keys = IssuerKeys.for_config(config, self._http)
        self.verifier: CheckingVerifier = verifier or (
            IntrospectionVerifier(config, self._http) if config.introspection is not None
            else JwtVerifier(config, self.keys))
        self.metadata_url = build_resource_metadata_url(AnyHttpUrl(config.resource))

    def __repr__(self) -> str:
        return f"ResourceServer(resource={self.config.resource!r}, verifier={self.verifier!r})"

    async def problem(self) -> str | None:
        """For /readyz: None when tokens can be checked (signing keys loaded, or introspection answering)."""
        if isinstance(self.verifier, IntrospectionVerifier | JwtVerifier):
            return await self.verifier.problem()
        return None  # a verifier of the caller's own says nothing about readiness

    def routes(self) -> list[Route]:
        """RFC 9728 metadata at the path-suffixed URL the challenge names, at `/mcp`'s suffix and at the root."""
        # Validated from strings, so the model keeps the issuer exactly as configured (no added trailing slash).
        metadata = ProtectedResourceMetadata.model_validate({
            "resource": self.config.resource, "authorization_servers": [self.config.issuer],
            "scopes_supported": [advertised(s, self.config.scope_prefix) for s in SCOPES_SUPPORTED],
            "resource_name": "cdp-mcp"})
        endpoint = cors_middleware(ProtectedResourceMetadataHandler(metadata).handle, ["GET", "OPTIONS"])
        paths = dict.fromkeys([urlsplit(str(self.metadata_url)).path, METADATA_PATH + MCP_PATH, METADATA_PATH])
        return [Route(path, endpoint=endpoint, methods=["GET", "OPTIONS"]) for path in paths]

    def middleware(self) -> list[Middleware]:
        return [Middleware(AuthenticationMiddleware, backend=VerifyingBearerBackend(self.verifier)),
                Middleware(AuthContextMiddleware)]

    def guard(self, endpoint: ASGIApp) -> ASGIApp:
        return SignInRequired(endpoint, self.metadata_url, scope_prefix=self.config.scope_prefix)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Closes the connections to the identity provider when the app stops."""
        try:
            yield
        finally:
            await self._http.aclose()
