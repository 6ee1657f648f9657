"""cdp-mcp's version, and the User-Agent every HTTP client of cdp-mcp sends (API and sign-in alike).

`__version__` is the one place the version is written: the build reads it from here (pyproject.toml's dynamic
version, `[tool.hatch.version]`), so the package's metadata, `cdp-mcp --version`, the server's `serverInfo`, the
bundle and the User-Agent all say the same, in a checkout as in an installation.
"""

from __future__ import annotations

__all__ = ["USER_AGENT", "__version__"]

__version__ = "0.1.0"


USER_AGENT = f"cdp-mcp/{__version__}"
