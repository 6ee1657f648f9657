"""The MCP tools: specs built from the resource catalog, shaped compact results, and their registry.

`registry.register_tools(server, settings)` is the entry point; `server.build_server` calls it.
"""

from __future__ import annotations

__all__: list[str] = []
