"""The MCP tools: specs built from the resource catalog, shaped compact results, and their registry.

`registry.build_tools(settings, guard)` is the entry point; `server.build_server` passes its tools to MCPServer.
"""

from __future__ import annotations

__all__: list[str] = []
