"""The Streamable HTTP transport: the SDK's `/mcp` endpoint behind an Origin check and a bearer token.

The SDK serves both protocol eras at `/mcp` (stateless: no session to pin a client to a process). Around
it this module adds what a network listener needs: a refusal to listen off loopback without
`CDP_MCP_AUTH_TOKEN`, a constant-time bearer check (401 with `WWW-Authenticate`), and an Origin
allowlist against DNS rebinding and cross-site browser requests (403); on loopback the Host header must be a
loopback name too (421). One check decides Host and Origin: the SDK's own copy is turned off. The token
guards this server only; it is never forwarded to the upstream API. Inside those, a request that narrows itself
with `X-CDP-Untrusted` or `X-CDP-Tools` gets 400 when the value is malformed.

Slow and greedy clients are bounded (`http_limits`): request headers within 10 s, the body within 30 s and
1 MiB, four idle `GET /mcp` streams per principal.

Whatever the mode, credentials travel one way only: a request with two `Authorization` headers (which
one counts would depend on who reads it) or with `access_token` in its URL (URLs end up in access logs,
proxies and browser history; RFC 6750 §2.3, and the MCP authorization specification forbids it) is a
400 `invalid_request`, and the access log never shows such a token (`uvicorn_config`).

With CDP_MCP_OAUTH_ISSUER set, people sign in instead (`sign_in.http_auth`): `/mcp` becomes an OAuth 2.1
resource server with its protected resource metadata, and the static token is not accepted.

Beside `/mcp`, for the platform that runs it: `GET /healthz` and `GET /readyz` (`probes`), `GET /metrics` behind
CDP_MCP_METRICS_TOKEN unless the metrics have a port of their own (`scrape`, `create_metrics_app`), all three
answered before any Origin, token or sign-in check (the metrics check their own token); and the drain on SIGTERM
(`draining`: `app.state.drain`, which `commands.http_server` starts on the signal).
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cdp_mcp import metrics
from cdp_mcp.access.caller import current_caller
from cdp_mcp.access.narrowing import HeaderCheck
from cdp_mcp.draining import STOP_GRACE, Drain, Draining
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.http_limits import DEFAULT_LIMITS, HeaderDeadlineProtocol, HttpLimits, RequestLimits
from cdp_mcp.probes import HEALTH_PATH, READY_PATH, Check, Readiness, RedisPing
from cdp_mcp.rpc_errors import PlainRpcErrors
from cdp_mcp.scrape import METRICS_PATH, bearer_matches, metrics_app, metrics_route
from cdp_mcp.server import guard_of, health_problems
from cdp_mcp.settings import AUDIENCES_PATH, MCP_PATH, Settings, env_name
from cdp_mcp.settings.urls import is_loopback
from cdp_mcp.sign_in.http_auth import ResourceServer
from cdp_mcp.sign_in.verifiers import CheckingVerifier
from cdp_mcp.tools.registry import all_specs
from cdp_mcp.uploads import MAX_UPLOAD_BYTES, UPLOAD_SECONDS
from cdp_mcp.version import __version__

if TYPE_CHECKING:
    from cdp_mcp.access.guard import CallGuard

__all__ = [
    "HEALTH_PATH",
    "LOOPBACK_HOSTS",
    "LOOPBACK_ORIGINS",
    "MCP_PATH",
    "METRICS_PATH",
    "MIN_TOKEN_LENGTH",
    "READY_PATH",
    "HttpLimits",
    "create_http_app",
    "create_metrics_app",
    "uvicorn_config",
]

MIN_TOKEN_LENGTH = 16
LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]")
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
_REALM = 'Bearer realm="cdp-mcp"'
_URL_TOKEN = re.compile(r"(?i)([?&]access_token=)[^&#\s]*")
_QUIET_PATHS = frozenset({HEALTH_PATH, READY_PATH, METRICS_PATH})

logger = logging.getLogger(__name__)


def _allowed(value: str, allowed: Sequence[str]) -> bool:
    """Exact match, or `[scheme://]host:*` matching that host with any port (or none): an Origin or a Host."""
    for pattern in allowed:
        if value == pattern:
            return True
        if pattern.endswith(":*"):
            base = pattern[:-2]
            if value == base or (value.startswith(base + ":") and value[len(base) + 1:].isdigit()):
                return True
    return False


def _malformed_credentials(scope: Scope) -> str | None:
    """Why the request's credentials are refused before anything reads them, or None."""
    if sum(1 for name, _ in scope["headers"] if name.lower() == b"authorization") > 1:
        return "Send one Authorization header: this request carries several."
    query = scope.get("query_string", b"").decode("latin-1")
    if any(name.lower() == "access_token" for name, _ in parse_qsl(query, keep_blank_values=True)):
        return ("Send the access token in the Authorization header (Bearer), never in the URL: URLs end up in "
                "logs. Treat this token as exposed.")
    return None


class _Guard:
    """ASGI middleware: one way of sending credentials (everywhere); then the probes and metrics (`operations`),
    answered by their own app; then, for everything else, the Host on loopback (DNS rebinding), the Origin allowlist
    and the bearer token. The one place Host and Origin are checked (the SDK's own copy is off)."""

    def __init__(self, app: ASGIApp, *, token: str | None, origins: Sequence[str], hosts: Sequence[str] | None,
                 operations: Starlette) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.origins = tuple(origins)
        self.hosts = tuple(hosts) if hosts is not None else None  # None: any Host (off loopback)
        self.operations = operations
        self.operation_paths = frozenset(r.path for r in operations.routes if isinstance(r, Route))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _malformed_credentials(scope)
        if problem is not None:
            response = JSONResponse({"error": "invalid_request", "error_description": problem}, status_code=400,
                                    headers={"WWW-Authenticate": 'Bearer error="invalid_request"'})
            await response(scope, receive, send)
            return
        if scope["path"] in self.operation_paths:  # no sign-in middleware: a scraper's token is never verified
            await self.operations(scope, receive, send)  # as an access token (nor sent to an introspection endpoint)
            return
        headers = Headers(scope=scope)
        if self.hosts is not None and not _allowed(headers.get("host", ""), self.hosts):
            logger.warning("refused a request for Host %r (loopback server)", headers.get("host"))
            response = JSONResponse(
                {"error": "misdirected_request", "error_description": "This server answers on loopback only, as "
                 "127.0.0.1, localhost or [::1]."}, status_code=421)
            await response(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is not None and not _allowed(origin, self.origins):
            logger.warning("refused a request from Origin %r", origin)
            response = JSONResponse(
                {"error": "forbidden", "error_description": "This Origin is not allowed; add it to "
                 "CDP_MCP_ALLOWED_ORIGINS (or --allowed-origins) if the browser client is yours."},
                status_code=403)
            await response(scope, receive, send)
            return
        if self.token is not None and not bearer_matches(headers.get("authorization"), self.token):
            given = headers.get("authorization") is not None
            challenge = _REALM + (', error="invalid_token"' if given else "")
            response = JSONResponse(
                {"error": "invalid_token" if given else "unauthorized",
                 "error_description": "Send Authorization: Bearer <CDP_MCP_AUTH_TOKEN>."},
                status_code=401, headers={"WWW-Authenticate": challenge})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _auth_token(settings: Settings, host: str) -> str | None:
    """The bearer token to require, or None on loopback without one; refuses unsafe set-ups."""
    token = settings.http.mcp_auth_token.get_secret_value().strip() if settings.http.mcp_auth_token else ""
    if not token:
        if is_loopback(host):
            return None
        raise ConfigurationError(
            f"Refusing to serve HTTP on {host} without CDP_MCP_AUTH_TOKEN: anyone who can reach it could "
            "read customer profiles.",
            hint="Set CDP_MCP_AUTH_TOKEN to a long random value (python -c \"import secrets; "
                 "print(secrets.token_urlsafe(32))\") and send it as 'Authorization: Bearer <token>', "
                 "or bind to 127.0.0.1.")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(f"CDP_MCP_AUTH_TOKEN is too short (at least {MIN_TOKEN_LENGTH} characters).",
                                 hint="Use a long random value, e.g. python -c \"import secrets; "
                                      "print(secrets.token_urlsafe(32))\".")
    return token


def _metrics_token(settings: Settings) -> str | None:
    """CDP_MCP_METRICS_TOKEN, checked: long enough, and not the MCP token (a scraper must not read profiles)."""
    token = settings.metrics.mcp_metrics_token.get_secret_value().strip() if settings.metrics.mcp_metrics_token \
        else ""
    if not token:
        return None
    name = env_name("mcp_metrics_token")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(f"{name} is too short (at least {MIN_TOKEN_LENGTH} characters).",
                                 hint="Use a long random value, e.g. python -c \"import secrets; "
                                      "print(secrets.token_urlsafe(32))\".")
    mcp_token = settings.http.mcp_auth_token
    if mcp_token is not None and hmac.compare_digest(token.encode(), mcp_token.get_secret_value().strip().encode()):
        raise ConfigurationError(f"{name} must differ from CDP_MCP_AUTH_TOKEN: whoever scrapes the metrics would "
                                 "read customer profiles too.", hint=f"Give {name} a value of its own.")
    return token


def create_metrics_app(settings: Settings) -> Starlette | None:
    """The app of CDP_MCP_METRICS_PORT (/metrics, with CDP_MCP_METRICS_TOKEN when set), or None without a port.

    Raises:
        ConfigurationError: the metrics token is too short, or is the MCP token.
    """
    if settings.metrics.mcp_metrics_port is None:
        return None
    app = metrics_app(_metrics_token(settings))
    metrics.enable()  # served: start counting
    return app


def _readiness(guard: CallGuard | None, signin: ResourceServer | None, drain: Drain,
               redis: RedisPing | None) -> Readiness:
    """The checks /readyz runs: those that apply to this configuration."""
    async def not_draining() -> str | None:
        return "draining: the server is shutting down" if drain.draining else None

    checks: dict[str, Check] = {"draining": not_draining}
    if redis is not None:
        checks["redis"] = redis
    if signin is not None:
        checks["issuer"] = signin.problem
    if guard is not None and guard.audit.enabled:
        checks["audit"] = guard.audit.problem
    return Readiness(checks)


def create_http_app(server: MCPServer[Any], settings: Settings, *, host: str = "127.0.0.1",
                    allowed_origins: Sequence[str] | None = None,
                    token_verifier: CheckingVerifier | None = None, limits: HttpLimits = DEFAULT_LIMITS) -> Starlette:
    """The ASGI app serving `server` at `/mcp`, with `/healthz`, `/readyz` and (see the module docstring) `/metrics`.

    Args:
        server: the MCP server; its lifespan (the backend) is entered once for the app's lifetime.
        settings: supplies `mcp_auth_token` and, unless `allowed_origins` is given, `mcp_allowed_origins`.
        host: the bind address; off loopback a bearer token is mandatory.
        allowed_origins: browser Origins to accept besides the loopback ones (when bound to loopback).
        token_verifier: with OAuth on, replaces the default verifier (JWKS, or introspection).
        limits: the request body's deadline and size, the idle GET streams per principal (`http_limits`).

    Raises:
        ConfigurationError: off loopback without CDP_MCP_AUTH_TOKEN (or OAuth), or with a token that is too short;
            a metrics token too short, or the MCP token.
    """
    oauth = settings.sign_in.oauth()
    signin = ResourceServer(oauth, verifier=token_verifier) if oauth is not None else None
    token = _auth_token(settings, host) if signin is None else None
    extra = list(allowed_origins if allowed_origins is not None else settings.http.mcp_allowed_origins or ())
    origins = [*LOOPBACK_ORIGINS, *extra] if is_loopback(host) else extra
    # Host and Origin are checked once, by _Guard: the SDK's copy of those checks matches differently.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    mcp_app = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True,
                                         transport_security=security, host=host)
    backend = "embedded-sandbox" if settings.api.uses_sandbox else "b2b-api"

    auth = "oauth" if signin else "bearer" if token else "none"

    guard = guard_of(server)
    if guard is not None:
        guard.allow_stopping()  # the drain stops calls still running when its time is up
    drain = Drain(settings.http.mcp_drain_seconds, guard.stop_calls if guard is not None else None)
    redis = RedisPing(settings.state.redis_url) if settings.state.redis_url is not None else None
    readiness = _readiness(guard, signin, drain, redis)

    async def healthz(_: Request) -> JSONResponse:
        problems = await health_problems(server)
        return JSONResponse({"status": "unhealthy" if problems else "ok", "server": server.name, "version": __version__,
                             "backend": backend, "auth": auth, **problems}, status_code=503 if problems else 200)

    async def readyz(_: Request) -> JSONResponse:
        problems = await readiness.problems()
        checks = {name: problems.get(name, "ok") for name in readiness.checks}
        return JSONResponse({"status": "not ready" if problems else "ready", "checks": checks},
                            status_code=503 if problems else 200)

    operations: list[BaseRoute] = [Route(HEALTH_PATH, healthz, methods=["GET"]),
                                   Route(READY_PATH, readyz, methods=["GET"])]
    metrics_token = _metrics_token(settings)
    if metrics_token is not None and settings.metrics.mcp_metrics_port is None:
        operations.append(metrics_route(metrics_token))
        metrics.enable()  # served: start counting

    def principal(scope: Scope) -> str:
        return current_caller(settings, scope).principal

    def guarded(endpoint: ASGIApp, endpoint_limits: HttpLimits) -> ASGIApp:
        """An endpoint behind sign-in (when on), then the limits on bodies and idle streams."""
        limited = RequestLimits(endpoint, endpoint_limits, principal)
        return signin.guard(limited) if signin is not None else limited

    # The same sign-in for MCP and for uploading an audience; an upload's body may be larger and slower.
    upload_limits = replace(limits, max_body=MAX_UPLOAD_BYTES, body_timeout=max(limits.body_timeout, UPLOAD_SECONDS))
    guards = {MCP_PATH: limits, AUDIENCES_PATH: upload_limits}
    routes: list[BaseRoute] = [*(Route(r.path, guarded(r.app, guards[r.path]), methods=r.methods)
                                 if isinstance(r, Route) and r.path in guards else r for r in mcp_app.routes),
                               *(signin.routes() if signin is not None else ())]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with mcp_app.router.lifespan_context(app):
                if signin is None:
                    yield
                    return
                async with signin.running():
                    yield
        finally:
            if redis is not None:
                await redis.aclose()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=signin.middleware() if signin else None)
    app.add_middleware(HeaderCheck, tools=[s.name for s in all_specs()])  # X-CDP-Untrusted, X-CDP-Tools well formed
    app.add_middleware(PlainRpcErrors)  # malformed JSON-RPC: a plain error, no internals, no echo of the body
    app.add_middleware(_Guard, token=token, origins=origins, hosts=LOOPBACK_HOSTS if is_loopback(host) else None,
                       operations=Starlette(routes=operations))
    app.add_middleware(Draining, drain=drain, path=MCP_PATH)  # outermost: refused while draining, before any check
    app.state.drain = drain
    return app


class _UrlTokenFilter(logging.Filter):
    """Masks the value of an `access_token` query parameter in uvicorn's access log lines (the request
    itself is refused; the line still says it happened)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_URL_TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        return True


class _QuietProbes(logging.Filter):
    """Drops the access-log lines of probes and scrapes that succeeded (a kubelet asks every few seconds, a
    scraper every fifteen); a failure is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:  # uvicorn.access: client, method, path, version, status
            path, status = str(args[2]).partition("?")[0], args[4]
            return not (path in _QUIET_PATHS and isinstance(status, int) and status < 400)
        return True


def uvicorn_config(app: ASGIApp, *, host: str, port: int, log_level: str = "INFO",
                   limits: HttpLimits = DEFAULT_LIMITS) -> uvicorn.Config:
    """How `cdp-mcp serve --transport http` runs `app`: uvicorn's logging through our stderr handlers, no
    Server header, an access log that never shows a token sent in a URL nor the probes that passed, a deadline on
    request headers, and `STOP_GRACE` for connections left after a drain."""
    access = logging.getLogger("uvicorn.access")
    for kind in (_UrlTokenFilter, _QuietProbes):
        if not any(isinstance(f, kind) for f in access.filters):
            access.addFilter(kind())
    return uvicorn.Config(app, host=host, port=port, log_config=None, log_level=log_level.lower(), lifespan="on",
                          server_header=False, http=HeaderDeadlineProtocol.with_timeout(limits.header_timeout),
                          timeout_graceful_shutdown=int(STOP_GRACE))
