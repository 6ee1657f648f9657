"""cdp-mcp's version, the User-Agent every HTTP client of cdp-mcp sends (API and sign-in alike), and the project's
namespace on the MCP side: the prefix of its `_meta` keys.

`__version__` is the one place the version is written: the build reads it from here (pyproject.toml's dynamic
version, `[tool.hatch.version]`), so the package's metadata, `cdp-mcp --version`, the server's `serverInfo`, the
bundle and the User-Agent all say the same, in a checkout as in an installation.
"""

from __future__ import annotations

__all__ = ["UNTRUSTED_META", "USER_AGENT", "VENDOR_PREFIX", "__version__"]

__version__ = "0.1.0"

USER_AGENT = f"cdp-mcp/{__version__}"

VENDOR_PREFIX = "io.github.cdp-mcp"
"""The project's namespace (its MCP registry name is `io.github.cdp-mcp/cdp-mcp`): the prefix of its `_meta` keys."""
UNTRUSTED_META = f"{VENDOR_PREFIX}/untrusted"
"""The `_meta` key listing the JSON pointers of a result's customer-written values (`tools/untrusted.py`, the views)."""
