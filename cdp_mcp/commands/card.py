"""`cdp-mcp card gcr_id=1 [--out card.html]`: one customer's card as a standalone HTML file.

For hosts without MCP Apps and for bug reports: the server runs in process against the configured API (or the
embedded sandbox), `get_customer_overview` is called with the identifiers given (as `cdp-mcp call` takes
them), and its result is embedded in the card view, which then renders in any browser without a host and
without a network. The file's path goes to stdout; an error result goes to stderr with exit code 1.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import anyio

from cdp_mcp.commands.call import call_from_shell
from cdp_mcp.commands.common import load_settings
from cdp_mcp.settings import Settings
from cdp_mcp.views import CARD_URI, standalone

__all__ = ["DESCRIPTION", "TOOL", "add_arguments", "run"]

TOOL = "get_customer_overview"
DESCRIPTION = ("Call get_customer_overview in process and write its result as the customer card (the MCP Apps view "
               "with the data embedded), for hosts without MCP Apps and for bug reports.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("arguments", nargs="+", metavar="key=value",
                        help="the customer as get_customer_overview takes it: gcr_id=1, email=..., mobile=..., "
                             "customer_code=... (and include=...)")
    parser.add_argument("--out", metavar="FILE", type=Path,
                        help="where to write the card (default: customer-card-<gcr_id>.html here)")


async def _card(settings: Settings, pairs: list[str], out: Path | None) -> int:
    called = await call_from_shell(settings, TOOL, pairs, structured=True)
    if isinstance(called, int):
        return called
    card = called.result.structured_content or {}
    path = out or Path(f"customer-card-{card.get('gcr_id') or 'unknown'}.html")
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    html = standalone(CARD_URI, card, called.arguments, generated=generated)
    await anyio.Path(path).write_text(html, encoding="utf-8")
    print(await anyio.Path(path).resolve())
    return 0


def run(args: argparse.Namespace) -> int:
    settings = load_settings(quiet=True)
    return anyio.run(_card, settings, args.arguments, args.out)
