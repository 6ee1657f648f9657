"""cdp-mcp: an MCP server for real-time customer profiles from a Customer Profile B2B API."""

from __future__ import annotations

from cdp_mcp.errors import CdpError
from cdp_mcp.settings import Settings
from cdp_mcp.version import __version__

__all__ = ["CdpError", "Settings", "__version__"]
