"""The server and the official SDK client in one process, for `call` and `demo`.

In process means no subprocess start-up and direct access to the backend the server's lifespan opened,
so a command can show the broker's figures next to the tools' results. The process is the command's, so
connecting also exports its traces when OTEL_* variables ask for it (logging is set up before, by the command).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from mcp import Client
from mcp.types import CallToolResult, TextContent

from cdp_mcp.backend import Backend, open_backend
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.results import compact_json
from cdp_mcp.tracing import configure_tracing

__all__ = ["connect", "result_text"]


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[tuple[Client, Callable[[], Backend]]]:
    """An SDK `Client` connected to `build_server(settings)`, and a getter of the backend once a call opened it."""
    opened: list[Backend] = []

    @asynccontextmanager
    async def backend() -> AsyncIterator[Backend]:
        async with open_backend(settings, keep_alive=False) as handle:
            opened.append(handle)
            yield handle

    def opened_backend() -> Backend:
        if not opened:
            raise RuntimeError("no tool has been called yet: the backend opens with the first call")
        return opened[0]

    configure_tracing()
    async with Client(build_server(settings, backend=backend)) as client:
        yield client, opened_backend


def result_text(result: CallToolResult) -> str:
    """The result as one compact JSON text: the text blocks, or the structured content when there are none."""
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    if texts:
        return "\n".join(texts)
    return compact_json(result.structured_content or {})
