"""This installation's version, and the User-Agent every HTTP client of cdp-mcp sends (API and sign-in alike)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["USER_AGENT", "__version__"]

try:
    __version__ = version("cdp-mcp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installation
    __version__ = "0.0.0"

USER_AGENT = f"cdp-mcp/{__version__}"
