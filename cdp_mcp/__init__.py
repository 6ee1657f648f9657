"""cdp-mcp: an MCP server for real-time customer profiles from a Customer Profile B2B API."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from cdp_mcp.errors import CdpError
from cdp_mcp.settings import Settings

try:
    __version__ = version("cdp-mcp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installation
    __version__ = "0.0.0"

VENDOR_PREFIX = "io.github.cdp-mcp"
"""The project's namespace (its MCP registry name is `io.github.cdp-mcp/cdp-mcp`): the prefix of its `_meta` keys."""
UNTRUSTED_META = f"{VENDOR_PREFIX}/untrusted"
"""The `_meta` key listing the JSON pointers of a result's customer-written values (`tools/untrusted.py`, the views)."""

__all__ = ["UNTRUSTED_META", "VENDOR_PREFIX", "CdpError", "Settings", "__version__"]
