"""Malformed JSON-RPC over HTTP: a plain JSON-RPC error, without validation internals or the request echoed."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from cdp_mcp.http_app import create_http_app
from cdp_mcp.rpc_errors import INVALID_REQUEST, PARSE_ERROR
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.helpers import served_on

pytestmark = pytest.mark.anyio

MARK = "PERSONAL-DATA-7f3a"
HANDSHAKE_ERA = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
                 "MCP-Protocol-Version": "2025-06-18"}


MALFORMED = [
    (b'{"jsonrpc": "2.0", "id": 1, "method": 5, "params": "' + MARK.encode() + b'"}', INVALID_REQUEST),
    (b'{"email": "' + MARK.encode() + b'"}', INVALID_REQUEST),
    (b'["' + MARK.encode() + b'"]', INVALID_REQUEST),
    (b"not json " + MARK.encode(), PARSE_ERROR),
]


async def test_malformed_posts_get_a_plain_error(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, state_dir=tmp_path, sandbox_customers=MIN_CUSTOMERS)  # type: ignore[call-arg]
    app = create_http_app(build_server(settings), settings)
    sock = bind_socket("127.0.0.1", 0)
    responses: list[tuple[httpx2.Response, int]] = []
    async with served_on(app, sock), httpx2.AsyncClient() as http:
        for body, code in MALFORMED:
            responses.append((await http.post(f"http://127.0.0.1:{sock.getsockname()[1]}/mcp", content=body,
                                              headers=HANDSHAKE_ERA), code))
    for response, code in responses:
        assert response.status_code == 400
        assert MARK not in response.text and "pydantic" not in response.text and "validation" not in response.text
        payload = response.json()
        assert payload["jsonrpc"] == "2.0" and payload["id"] is None
        assert payload["error"]["code"] == code and set(payload["error"]) == {"code", "message"}
        assert int(response.headers["content-length"]) == len(response.content)
