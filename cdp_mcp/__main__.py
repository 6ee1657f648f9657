"""`python -m cdp_mcp` runs the command-line interface."""

from cdp_mcp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
