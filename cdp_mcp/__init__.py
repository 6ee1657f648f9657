"""cdp-mcp: an MCP server for real-time customer profiles from a Customer Profile B2B API."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from cdp_mcp.errors import CdpError
from cdp_mcp.settings import Settings

try:
    __version__ = version("cdp-mcp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["CdpError", "Settings", "__version__"]
