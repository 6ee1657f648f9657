"""`GET /metrics`: the Prometheus exposition of `metrics.REGISTRY`, behind a bearer token of its own when one is set.

The scraper's token (CDP_MCP_METRICS_TOKEN) is not the MCP token: whoever holds it reads counters, never customer
profiles. A scrape without it, or with another, gets 401 with `WWW-Authenticate`. Served on the MCP port, or on a
port of its own (CDP_MCP_METRICS_PORT), never over stdio (`http_app` decides).
"""

from __future__ import annotations

import hmac

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cdp_mcp import metrics

__all__ = ["METRICS_PATH", "bearer_matches", "metrics_app", "metrics_route"]

METRICS_PATH = "/metrics"
_REALM = 'Bearer realm="cdp-mcp-metrics"'


def bearer_matches(header: str | None, token: bytes) -> bool:
    """Whether an Authorization header is `Bearer <token>`, in constant time (unequal lengths too)."""
    scheme, _, credentials = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token)


def metrics_route(token: str | None) -> Route:
    """The /metrics route; with `token`, a scrape must send it as a bearer token."""
    expected = token.encode() if token else None

    async def scrape(request: Request) -> Response:
        if expected is not None and not bearer_matches(request.headers.get("authorization"), expected):
            given = request.headers.get("authorization") is not None
            return JSONResponse({"error": "invalid_token" if given else "unauthorized",
                                 "error_description": "Send Authorization: Bearer <CDP_MCP_METRICS_TOKEN>."},
                                status_code=401,
                                headers={"WWW-Authenticate": _REALM + (', error="invalid_token"' if given else "")})
        body, content_type = await metrics.render(request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    return Route(METRICS_PATH, scrape, methods=["GET"])


def metrics_app(token: str | None) -> Starlette:
    """The app of the metrics port: /metrics only."""
    return Starlette(routes=[metrics_route(token)])
