"""The sandbox's ASGI app: routes built from the catalog, one handler per endpoint kind, one error table."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cdp_mcp.catalog import RESOURCES, TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, Header, Resource, TokenKey
from cdp_mcp.clock import Clock
from cdp_mcp.sandbox.contract import DEFAULT_VALIDITY, ErrorCode, SandboxError, error_body
from cdp_mcp.sandbox.identity import parse_gcr_identifiers, parse_identifiers, resolve
from cdp_mcp.sandbox.openapi import OPENAPI_PATH, build_openapi
from cdp_mcp.sandbox.options import SandboxOptions
from cdp_mcp.sandbox.paging import parse_paging
from cdp_mcp.sandbox.resources import VIEWS, default_page_size
from cdp_mcp.sandbox.store import Store
from cdp_mcp.sandbox.tokens import TokenService, parse_resources, parse_validity
from cdp_mcp.sandbox.views import ViewRequest
from cdp_mcp.wire import GcrIdData, response_body

__all__ = ["GCR_CONTRACT", "create_sandbox_app"]

logger = logging.getLogger(__name__)

_Handler = Callable[[Request], Awaitable[Response]]

GCR_CONTRACT = ("Answered by the app itself, not by a view: identifiers from the headers and the documented body keys "
                "(see Requests); a match is `{\"status\":\"OK\",\"data\":[{\"status\":\"Available\",\"gcrId\":N}]}`: "
                "`status` and `gcrId` as documented (`\"Not available\"` with `-1` for no match); *`Available`* is our "
                "word for a match (the vendor shows only `\"Not available\"`), so the client reads a match from "
                "`gcrId` and never relies on the word")
"""What CONTRACT.md says of the gcr lookup, which the app answers itself (`_Handlers._gcr`)."""


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"status": "OK", "message": "", "data": data})


def _parsed(raw: bytes) -> dict[str, Any]:
    """A missing or empty body and `{}` are all "no options"; anything but a JSON object is refused."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise SandboxError(ErrorCode.BAD_REQUEST, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise SandboxError(ErrorCode.BAD_REQUEST, "The request body must be a JSON object.")
    return body


async def _body(request: Request) -> dict[str, Any]:
    return _parsed(await request.body())


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class _Handlers:
    """The endpoint handlers of one tenant; secrets are compared in constant time and never echoed."""

    def __init__(self, store: Store, options: SandboxOptions, clock: Clock) -> None:
        self.store = store
        self.options = options
        self.clock = clock
        self.tokens = TokenService(store, options, clock)

    def _tenant(self, request: Request, *, oauth: bool) -> None:
        tenant = request.headers.get(Header.TENANT_HASH)
        if not tenant:
            raise SandboxError(ErrorCode.TENANT_REQUIRED, f"Send the `{Header.TENANT_HASH}` header.")
        if not _same(tenant, self.options.tenant_hash):
            raise SandboxError(ErrorCode.TENANT_UNKNOWN, "The tenant hash is not known.")
        secret = self.options.oauth_key_secret
        if oauth and secret is not None:
            given = request.headers.get(Header.OAUTH_KEY_SECRET) or ""
            if not _same(given, secret):
                raise SandboxError(ErrorCode.OAUTH_SECRET_INVALID, f"OAuth is enabled for this tenant: send the "
                                   f"correct `{Header.OAUTH_KEY_SECRET}` header.")

    async def create_token(self, request: Request) -> Response:
        self._tenant(request, oauth=True)
        body = await _body(request)
        resources = parse_resources(_resource_value(body), required=True)
        validity = parse_validity(body.get(TokenKey.VALIDITY), self.options.validity_unit)
        return _ok(await self.tokens.create(resources or [], validity or DEFAULT_VALIDITY))

    async def update_token(self, request: Request) -> Response:
        self._tenant(request, oauth=True)
        body = await _body(request)
        token = body.get(TokenKey.TOKEN) or request.headers.get(Header.ACCESS_TOKEN)
        if not isinstance(token, str) or not token:
            raise SandboxError(ErrorCode.TOKEN_REQUIRED, "Send the token to update as `token` in the body.")
        resources = parse_resources(_resource_value(body), required=False)
        validity = parse_validity(body.get(TokenKey.VALIDITY), self.options.validity_unit, default=None)
        return _ok(await self.tokens.update(token, resources, validity))

    async def profile(self, resource: Resource, request: Request) -> Response:
        """A data call answered in one worker-thread hop: token check, request checks, identity, query, JSON."""
        self._tenant(request, oauth=False)
        token = request.headers.get(Header.ACCESS_TOKEN)
        if not token:
            raise SandboxError(ErrorCode.TOKEN_REQUIRED, f"Send the `{Header.ACCESS_TOKEN}` header.")
        raw = await request.body()

        def work() -> Response:
            self.tokens.checked(token, resource.name)
            body = _parsed(raw)
            if resource.identity_in_body:
                return JSONResponse(response_body(resource, [self._gcr(request, body)]))
            query = None
            if resource.query_param:
                query = (request.query_params.get(resource.query_param) or "").strip()
                if not query:
                    raise SandboxError(ErrorCode.QUERY_REQUIRED, f"Send the `{resource.query_param}` query "
                                       "parameter.")
            page = parse_paging(body, resource.paging, default_page_size(resource.name))
            lookup = parse_identifiers(request.headers)
            view = VIEWS[resource.name]
            data = view(ViewRequest(self.store, resolve(self.store, lookup), self.clock.now().date(), query, page))
            return JSONResponse(response_body(resource, data))

        return await anyio.to_thread.run_sync(work)

    def _gcr(self, request: Request, body: dict[str, Any]) -> GcrIdData:
        """`gcr` reads the identifier headers and the documented body keys, and answers -1 instead of 404."""
        lookup = parse_gcr_identifiers(request.headers, body)
        try:
            return GcrIdData(status="Available", gcrId=resolve(self.store, lookup))
        except SandboxError as exc:
            if exc.code is ErrorCode.CUSTOMER_NOT_FOUND:
                return GcrIdData(status="Not available", gcrId=-1)
            raise


def _resource_value(body: dict[str, Any]) -> Any:
    value = body.get(TokenKey.RESOURCE)
    return value if value is not None else body.get(TokenKey.RESOURCES_ALIAS)


async def _sandbox_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SandboxError)
    logger.debug("sandbox refused %s: %s", request.url.path, exc.code)
    return JSONResponse(error_body(exc), status_code=exc.status, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug answers in the same envelope as every refusal (uvicorn still logs the traceback, without headers)."""
    error = SandboxError(ErrorCode.INTERNAL_ERROR, "The sandbox failed on this request; see its log.")
    return JSONResponse(error_body(error), status_code=error.status)


def _endpoint(handlers: _Handlers, resource: Resource) -> _Handler:
    async def endpoint(request: Request) -> Response:
        return await handlers.profile(resource, request)

    return endpoint


def create_sandbox_app(store: Store, options: SandboxOptions, clock: Clock) -> Starlette:
    """The Starlette app of one tenant; every path sits below `options.context_path`."""
    handlers = _Handlers(store, options, clock)
    base = options.context_path.rstrip("/")
    openapi = build_openapi(options)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    routes = [
        Route(base + TOKEN_CREATE_PATH, handlers.create_token, methods=["POST"]),
        Route(base + TOKEN_UPDATE_PATH, handlers.update_token, methods=["POST"]),
        *(Route(base + r.route, _endpoint(handlers, r), methods=["POST"], name=r.name) for r in RESOURCES),
        Route(base + OPENAPI_PATH, openapi_json, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={SandboxError: _sandbox_error, Exception: _internal_error})
