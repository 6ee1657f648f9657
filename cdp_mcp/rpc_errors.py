"""Plain JSON-RPC errors for malformed requests over HTTP: no validation internals, no echo of the request body.

The SDK's handshake-era transport answers a body that is not JSON-RPC with pydantic's validation report, which
quotes the request back (arguments, identifiers) and names internal types. This ASGI middleware replaces such
answers (HTTP 400, `id` null, a parse or validation error) with the plain JSON-RPC errors the specification
defines; every other response passes through untouched, unbuffered.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["INVALID_REQUEST", "PARSE_ERROR", "PlainRpcErrors", "plain_error_body"]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
_INVALID_PARAMS = -32602
_PLAIN = {
    "Parse error": (PARSE_ERROR, "Parse error: the request body is not valid JSON."),
    "Validation error": (INVALID_REQUEST, "Invalid Request: the body is not a valid JSON-RPC 2.0 request."),
}


def plain_error_body(body: bytes) -> bytes:
    """`body` with a parse or validation error's detail replaced by a plain message (other bodies unchanged)."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return body
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or payload.get("id") is not None \
            or error.get("code") not in (PARSE_ERROR, _INVALID_PARAMS) or not isinstance(error.get("message"), str):
        return body
    plain = next((p for prefix, p in _PLAIN.items() if error["message"].startswith(prefix)), None)
    if plain is None:
        return body
    code, message = plain
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()


class PlainRpcErrors:
    """ASGI middleware: rewrite the 400 answers to malformed JSON-RPC posts (see `plain_error_body`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def filtered(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 400:
                held = message  # small by nature: buffered until its body is complete
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = plain_error_body(b"".join(chunks))
            headers = [(k, v) for k, v in held.get("headers", []) if k.lower() != b"content-length"]
            await send({**held, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, filtered)
