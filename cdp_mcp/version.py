"""This installation's version, the User-Agent every HTTP client of cdp-mcp sends (API and sign-in alike), and the
project's namespace on the MCP side: the prefix of its `_meta` keys."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["UNTRUSTED_META", "USER_AGENT", "VENDOR_PREFIX", "__version__"]

try:
    __version__ = version("cdp-mcp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installation
    __version__ = "0.0.0"

USER_AGENT = f"cdp-mcp/{__version__}"

VENDOR_PREFIX = "io.github.cdp-mcp"
"""The project's namespace (its MCP registry name is `io.github.cdp-mcp/cdp-mcp`): the prefix of its `_meta` keys."""
UNTRUSTED_META = f"{VENDOR_PREFIX}/untrusted"
"""The `_meta` key listing the JSON pointers of a result's customer-written values (`tools/untrusted.py`, the views)."""
