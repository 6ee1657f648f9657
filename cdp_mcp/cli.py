"""Argument parsing and dispatch only: each subcommand's work lives in its own module.

Over stdio nothing but protocol may reach stdout, so every message here goes to stderr except the
output a subcommand exists to print (sandbox --json, config, call, demo, doctor). Logging is pointed
at stderr before anything else is imported, and a subcommand's module is imported only when it runs,
so `cdp-mcp --help` and `cdp-mcp config` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from pathlib import Path

from cdp_mcp import __version__
from cdp_mcp.commands.common import configure_logging, exit_code_for

__all__ = ["build_parser", "main"]

_DESCRIPTION = "MCP server for real-time customer profiles (Customer Profile B2B API), with an embedded sandbox."
_EPILOG = "Without a subcommand, cdp-mcp serves MCP over stdio (what Claude Desktop and other hosts run)."


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve MCP over stdio (default) or Streamable HTTP",
                           description="Serve the MCP tools. CDP_B2B_API_URL unset: the embedded sandbox.")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                       help="stdio for desktop hosts (default); http for Streamable HTTP at /mcp")
    serve.add_argument("--host", default="127.0.0.1",
                       help="HTTP bind address (default 127.0.0.1; other hosts require CDP_MCP_AUTH_TOKEN)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.add_argument("--tools", metavar="A,B", help="allowlist of tool names; overrides CDP_TOOLS")
    serve.add_argument("--allowed-origins", metavar="URL,URL",
                       help="browser Origins the HTTP transport accepts; overrides CDP_MCP_ALLOWED_ORIGINS")


def _add_call(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    call = sub.add_parser("call", help="call one tool from the shell and print its compact JSON result",
                          description="Call one tool in process. Values are JSON when they parse as JSON "
                                      "(numbers, lists, objects), else strings; string arguments stay strings. "
                                      "Repeat a key to pass a list.")
    call.add_argument("tool", help="tool name, e.g. get_customer_profile")
    call.add_argument("arguments", nargs="*", metavar="key=value", help="e.g. email=ada@example.com limit=3")
    call.add_argument("--tools", metavar="A,B", help="allowlist of tool names; overrides CDP_TOOLS")


def _add_card(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    card = sub.add_parser("card", help="write one customer's card as a standalone HTML file and print its path",
                          description="Call get_customer_overview in process and write its result as the customer "
                                      "card (the MCP Apps view with the data embedded), for hosts without MCP Apps "
                                      "and for bug reports.")
    card.add_argument("arguments", nargs="+", metavar="key=value",
                      help="the customer as get_customer_overview takes it: gcr_id=1, email=..., mobile=..., "
                           "customer_code=... (and include=...)")
    card.add_argument("--out", metavar="FILE", type=Path,
                      help="where to write the card (default: customer-card-<gcr_id>.html here)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdp-mcp", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"cdp-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_serve(sub)

    sandbox = sub.add_parser("sandbox", help="serve the embedded Customer Profile API emulator over HTTP")
    from cdp_mcp.sandbox.serve import add_arguments as add_sandbox_arguments  # noqa: PLC0415 - keep start-up light

    add_sandbox_arguments(sandbox)

    sub.add_parser("demo", help="a first look: the tools answering questions on the embedded sandbox",
                   description="Run the server in process on a temporary embedded sandbox, ask it a few "
                               "questions about a sample customer and show the token broker's figures.")
    sub.add_parser("doctor", help="check configuration, connectivity, a token, and today's token allowance",
                   description="Check the configuration, reach the API (or the embedded sandbox), create or "
                               "reuse a minimal token and report the day's token allowance.")
    _add_call(sub)
    _add_card(sub)

    config = sub.add_parser("config", help="print host configuration snippets")
    config_sub = config.add_subparsers(dest="target", metavar="TARGET", required=True)
    desktop = config_sub.add_parser("claude-desktop", help="a claude_desktop_config.json entry with absolute paths")
    desktop.add_argument("--name", default="cdp-mcp", help="the server's key under mcpServers (default cdp-mcp)")
    desktop.add_argument("--sandbox", action="store_true",
                         help="an entry for the embedded sandbox (no credentials) instead of your tenant")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a host starting `cdp-mcp` alone gets the stdio server
        args = parser.parse_args(["serve"])
    try:
        if args.command == "sandbox":
            from cdp_mcp.sandbox.serve import run as run_sandbox  # noqa: PLC0415 - keep start-up light

            return run_sandbox(args)
        command = importlib.import_module(f"cdp_mcp.commands.{args.command}")
        return int(command.run(args))
    except (Exception, KeyboardInterrupt, BaseExceptionGroup) as exc:  # noqa: BLE001 - one exit path for every command
        return exit_code_for(exc)
