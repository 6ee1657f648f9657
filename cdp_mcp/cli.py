"""Argument parsing and dispatch only: each subcommand lives in `cdp_mcp/commands/<name>.py`.

A command module exposes `add_arguments(parser)` and `run(args) -> int` (and may set `DESCRIPTION`). Only
the module of the command being run is imported, so `cdp-mcp --help` stays instant and `cdp-mcp serve`, what
hosts start, pays for nothing it does not use. Adding a command is one line in `COMMANDS` and one module.

Over stdio nothing but protocol may reach stdout, so every message goes to stderr except the output a
subcommand exists to print (sandbox --json, config, call, card, demo, doctor, bundle, audience upload). Logging
is pointed at stderr before anything else runs.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from types import ModuleType

from cdp_mcp.commands.common import configure_logging, exit_code_for
from cdp_mcp.version import __version__

__all__ = ["COMMANDS", "build_parser", "entry", "loading_once", "main"]

COMMANDS: dict[str, str] = {
    "serve": "serve MCP over stdio (default) or Streamable HTTP",
    "demo": "a first look: the tools answering questions on the embedded sandbox",
    "doctor": "check configuration, connectivity, a token, and today's token allowance",
    "call": "call one tool from the shell and print its compact JSON result",
    "card": "write one customer's card as a standalone HTML file and print its path",
    "config": "print the entry that adds cdp-mcp to a host (Claude Desktop, Claude Code, VS Code, Cursor, ...)",
    "bundle": "build an MCP Bundle (.mcpb) to install in Claude Desktop",
    "sandbox": "serve the embedded Customer Profile API emulator over HTTP, or export an audience from it",
    "audience": "upload an audience export to a cdp-mcp HTTP server, for screen_audience",
}
"""Every subcommand and its one-line help, in the order `--help` lists them."""

_DESCRIPTION = "MCP server for real-time customer profiles (Customer Profile B2B API), with an embedded sandbox."
_EPILOG = "Without a subcommand, cdp-mcp serves MCP over stdio (what Claude Desktop and other hosts run)."


def _module(command: str) -> ModuleType:
    return importlib.import_module(f"cdp_mcp.commands.{command.replace('-', '_')}")


def _requested(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the first word that is one), if any."""
    return next((word for word in argv if word in COMMANDS), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser: every subcommand listed, with the options of the one `argv` names (only its module is imported)."""
    parser = argparse.ArgumentParser(prog="cdp-mcp", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"cdp-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    requested = _requested(argv)
    for name, summary in COMMANDS.items():
        if name != requested:
            sub.add_parser(name, help=summary)
            continue
        module = _module(name)
        command = sub.add_parser(name, help=summary, description=getattr(module, "DESCRIPTION", summary))
        module.add_arguments(command)
    return parser


@contextmanager
def loading_once() -> Iterator[None]:
    """Load the command's modules (the SDK's, pydantic's models, the tools') without cyclic garbage collection, then
    freeze what they made (`gc.freeze`): it lives as long as the process, so no later collection scans it again.

    With the collector on, loading them ran it about 150 times over ever more objects, and the first full collection
    after start-up (about 50 ms) fell on the host's first requests. The price: the cyclic garbage loading leaves
    (a few hundred objects, about 160 KB) is never freed. Process-wide, so only `entry` uses it.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def main(argv: Sequence[str] | None = None, *, loading: AbstractContextManager[object] | None = None) -> int:
    """Run one command (`argv`, default the process's arguments); `loading` wraps the import of its module."""
    configure_logging()
    words = list(sys.argv[1:] if argv is None else argv) or ["serve"]  # `cdp-mcp` alone: what hosts start
    with loading if loading is not None else nullcontext():
        args = build_parser(words).parse_args(words)
    try:
        return int(_module(args.command).run(args))
    except (Exception, KeyboardInterrupt, BaseExceptionGroup) as exc:  # noqa: BLE001 - one exit path for every command
        return exit_code_for(exc)


def entry() -> int:
    """The process's entry point (`cdp-mcp`, `python -m cdp_mcp`): `main`, its command's modules loaded once
    (`loading_once`)."""
    return main(loading=loading_once())
