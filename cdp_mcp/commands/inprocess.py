"""The server and the official SDK client in one process, for `call` and `demo`.

In process means no subprocess start-up and direct access to the backend the server's lifespan opened,
so a command can show the broker's figures next to the tools' results.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, TextContent

from cdp_mcp.backend import Backend, open_backend
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings

__all__ = ["connect", "result_text"]


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[tuple[Client, Backend]]:
    """An SDK `Client` connected to `build_server(settings)`, and the backend its lifespan opened."""
    opened: list[Backend] = []

    @asynccontextmanager
    async def backend() -> AsyncIterator[Backend]:
        async with open_backend(settings, keep_alive=False) as handle:
            opened.append(handle)
            yield handle

    async with Client(build_server(settings, backend=backend)) as client:
        if not opened:  # the lifespan is entered on connect; a lazy SDK would open it on the first request
            await client.list_tools()
        yield client, opened[0]


def result_text(result: CallToolResult) -> str:
    """The result as one compact JSON text: the text blocks, or the structured content when there are none."""
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    if texts:
        return "\n".join(texts)
    payload: Any = result.structured_content or {}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
