"""`cdp-mcp demo`: a newcomer's first look, with nothing to configure.

The server runs in process on a fresh embedded sandbox in a temporary state directory (deleted at the end,
so the demo never touches your token cache or creation ledger), connected through the official MCP SDK
`Client` as any host would. It lists the tools, asks the questions a support agent and a campaign planner
ask about one sample customer, prints the compact results the model would read, and ends with the token
broker's figures: how few tokens it took.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from cdp_mcp.backend import Backend
from cdp_mcp.commands.common import configure_logging
from cdp_mcp.commands.inprocess import connect, result_text
from cdp_mcp.sandbox import SampleCustomer, sample_customers
from cdp_mcp.settings import Settings

__all__ = ["DESCRIPTION", "add_arguments", "demo_settings", "json_lines", "run", "run_demo"]

DESCRIPTION = ("Run the server in process on a temporary embedded sandbox, ask it a few questions about a sample "
               "customer and show the token broker's figures.")

_WIDTH = 100
_SHORT = 3  # lines of a result shown before it is cut


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # nothing to choose: the demo is the same for everyone


def demo_settings(state_dir: Path) -> Settings:
    """The environment's settings, forced onto the embedded sandbox with every tool, in `state_dir`."""
    return Settings.load(b2b_api_url=None, token_api_url=None, tenant_hash=None, oauth_key_secret=None, tools=None,
                         resources=None, state_dir=state_dir)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^,:{}\[\]"]+|[,:{}\[\]]')


def json_lines(text: str, width: int) -> list[str]:
    """Compact JSON as lines of at most `width` characters, broken only between tokens, never inside one.

    A line never starts with `,` or `:`, a key stays with its scalar value when both fit, and a string too
    long for any line (a paging cursor) is shown shortened with an ellipsis. Text that is not compact JSON is
    wrapped at words.
    """
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != text:
        return textwrap.wrap(text, width)
    pieces: list[str] = []
    for token in tokens:
        if pieces and token in (",", ":"):  # never at the start of a line
            pieces[-1] += token
            continue
        shown = token[:width - 3] + '…"' if token.startswith('"') and len(token) > width - 1 else token
        if pieces and pieces[-1].endswith(":") and shown not in "{}[]" and len(pieces[-1]) + len(shown) < width:
            pieces[-1] += shown  # a key stays with its scalar value when they fit on one line
        else:
            pieces.append(shown)
    lines = [""]
    for piece in pieces:
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return lines


def _width() -> int:
    return max(60, min(_WIDTH, shutil.get_terminal_size((_WIDTH, 24)).columns))


def _call_line(tool: str, arguments: dict[str, Any]) -> str:
    shown = []
    for key, value in arguments.items():
        if isinstance(value, list) and len(value) > 2:
            shown.append(f"{key}=[{len(value)} items]")
        else:
            shown.append(f"{key}={json.dumps(value, ensure_ascii=False)}")
    return f"{tool}({', '.join(shown)})"


class _Printer:
    """Numbered questions, each with its tool calls and their compact results, cut to a few lines."""

    def __init__(self) -> None:
        self.width = _width()
        self.number = 0

    def question(self, text: str) -> None:
        self.number += 1
        print(f"\n{self.number}. {text}")

    def result(self, tool: str, arguments: dict[str, Any], text: str, *, error: bool = False,
               lines: int = _SHORT) -> None:
        print(f"   > {_call_line(tool, arguments)}")
        room = self.width - 5
        wrapped = textwrap.wrap("is_error: " + text, room) if error else json_lines(text, room)
        for line in wrapped[:lines]:
            print(f"     {line}")
        if len(wrapped) > lines:
            print(f"     ... ({len(text.encode())} bytes of compact JSON in all)")

    def note(self, text: str) -> None:
        for line in textwrap.wrap(text, self.width - 3):
            print(f"   {line}")


class _Session:
    """The connected client, with one helper that calls a tool and prints what the model would read."""

    def __init__(self, client: Client, printer: _Printer) -> None:
        self.client = client
        self.printer = printer
        self.progress: list[str] = []

    async def ask(self, tool: str, arguments: dict[str, Any], *, lines: int = _SHORT) -> dict[str, Any]:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            self.progress.append(message or (f"{progress:g}/{total:g}" if total is not None else f"{progress:g}"))

        result = await self.client.call_tool(tool, arguments, progress_callback=on_progress)
        self.printer.result(tool, arguments, result_text(result), error=bool(result.is_error), lines=lines)
        return {} if result.is_error else dict(result.structured_content or {})


def _pick(samples: Sequence[SampleCustomer]) -> tuple[SampleCustomer, SampleCustomer | None]:
    """The first sample with a gcr_id and an email (the showcase), and the ambiguous one if any."""
    showcase = next(s for s in samples if s.gcr_id is not None and s.email)
    ambiguous = next((s for s in samples if s.label == "ambiguous"), None)
    return showcase, ambiguous


async def _questions(session: _Session) -> None:
    printer = session.printer
    samples = sample_customers()
    customer, ambiguous = _pick(samples)
    print(f"\nSample customer: {customer.full_name} ({customer.label}: {customer.description}), "
          f"email {customer.email}")

    printer.question("Who is this customer?")
    match = await session.ask("resolve_customer", {"email": customer.email})
    gcr_id = match.get("gcr_id") or customer.gcr_id
    await session.ask("get_customer_profile", {"gcr_id": gcr_id})

    printer.question("What did they buy lately?")
    await session.ask("list_purchased_products", {"gcr_id": gcr_id, "limit": 3})

    printer.question("Have they opted in to SMS?")
    consent = await session.ask("get_marketing_consent", {"gcr_id": gcr_id})
    sms = "sms" in consent.get("contactable_on", [])
    printer.note(f"Answer: {'yes' if sms else 'no'}; contactable on {', '.join(consent.get('contactable_on', []))}.")

    printer.question("What should we recommend?")
    await session.ask("get_product_recommendations", {"gcr_id": gcr_id, "limit": 3})

    printer.question("Everything at once: the overview card (sections fetched concurrently)")
    session.progress.clear()
    card = await session.ask("get_customer_overview", {"gcr_id": gcr_id}, lines=40)
    if session.progress:
        printer.note(f"progress reported: {len(session.progress)} notifications ({session.progress[-1]})")

    segments: dict[str, str] = (card.get("segments") or {}).get("top") or {}
    if segments:
        segment_id, segment_name = next(iter(segments.items()))
        screened: list[dict[str, Any]] = [{"gcr_id": s.gcr_id} for s in samples if s.gcr_id is not None][:6]
        if ambiguous is not None:
            screened.append({"email": ambiguous.email})
        printer.question(f"Campaign planning: who of {len(screened)} customers is in segment "
                         f"{segment_name!r} and reachable by SMS?")
        screen = await session.ask("screen_customers",
                                   {"customers": screened, "segment_id": segment_id, "channel": "sms"})
        summary = screen.get("summary") or {}
        if summary:
            printer.note(f"Answer: {summary.get('eligible')} eligible of {summary.get('customers')} "
                         f"({summary.get('in_segment')} in the segment, {summary.get('contactable')} opted in to "
                         f"SMS, {summary.get('errors')} with an error of their own).")

    if ambiguous is not None:
        printer.question("An email two customers share: the model gets a next step, not a crash")
        await session.ask("get_customer_profile", {"email": ambiguous.email})


async def _figures(backend: Backend) -> None:
    stats = backend.broker.stats.as_dict()
    allowance = await backend.broker.allowance()
    print("\nToken broker (one minimal-scope token per resource set, reused until it nears expiry):")
    print("   " + " · ".join(f"{key.replace('_', ' ')} {value}" for key, value in stats.items()))
    print(f"   allowance: {allowance.remaining} of {allowance.limit} token creations left in the rolling 24 hours")


async def run_demo(settings: Settings) -> None:
    """Connect, list the tools, ask the questions, print the broker's figures."""
    printer = _Printer()
    print(textwrap.fill(
        f"cdp-mcp demo: the MCP server on the embedded sandbox ({settings.sandbox.sandbox_customers} synthetic "
        "customers), in process through the official MCP SDK Client; tokens and sandbox data in a temporary "
        "directory that is deleted at the end.", printer.width))
    async with connect(settings) as (client, backend):
        tools = (await client.list_tools()).tools
        print(f"\n{len(tools)} tools:")
        print(textwrap.fill(", ".join(t.name for t in tools), printer.width, initial_indent="   ",
                            subsequent_indent="   "))
        await _questions(_Session(client, printer))
        await _figures(backend())
    print("\nNext: `cdp-mcp bundle` builds a one-click install for Claude Desktop; `cdp-mcp config HOST` prints the")
    print("      entry for claude-desktop, claude-code, vscode, cursor, windsurf or http; `cdp-mcp doctor` checks")
    print("      your tenant's settings; `cdp-mcp call get_customer_overview email=...` asks from the shell.")
    print("      A whole audience: `cdp-mcp sandbox export-audience --all --out ~/cdp-audiences/winback.csv`")
    print("      writes an export to try, and screen_audience screens it (docs: Screening an audience).")


def run(args: argparse.Namespace) -> int:
    del args
    with tempfile.TemporaryDirectory(prefix="cdp-mcp-demo-") as state_dir:
        settings = demo_settings(Path(state_dir))
        configure_logging(settings.server.log_level if settings.is_given("log_level") else "WARNING")
        anyio.run(run_demo, settings)
    return 0
