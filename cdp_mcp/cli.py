"""Argument parsing and dispatch only: each subcommand's work lives in its own module.

Over stdio nothing but protocol may reach stdout, so every message here goes to stderr except the
output a subcommand exists to print (sandbox --json, config, call, demo).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cdp_mcp import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdp-mcp", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"cdp-mcp {__version__}")
    sub = parser.add_subparsers(dest="command")

    sandbox = sub.add_parser("sandbox", help="serve the embedded Customer Profile API emulator over HTTP")
    from cdp_mcp.sandbox.serve import add_arguments as add_sandbox_arguments  # noqa: PLC0415 - keep start-up light

    add_sandbox_arguments(sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        from cdp_mcp.sandbox.serve import run as run_sandbox  # noqa: PLC0415

        return run_sandbox(args)
    parser.print_help(sys.stderr)
    return 2
