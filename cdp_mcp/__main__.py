"""`python -m cdp_mcp` runs the command-line interface."""

from __future__ import annotations

from cdp_mcp.cli import entry

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(entry())
