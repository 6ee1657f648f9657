"""Audience planner: screen a campaign audience of thousands from the CDP's export, then plan the campaign.

The agentic loop of a campaign planner, without a model: the audience is what the CDP's segment builder exported
(here written from the embedded sandbox with `cdp-mcp sandbox export-audience`, 5,000 rows by default, into the
audience folder), `screen_audience` screens it in the background once the planner confirms the estimate (an
elicitation the client answers), `get_screening` follows its progress, then gives the counts per outcome and the
eligible customers page by page, and the whole result is read as CSV from its resource link. The server runs as
a subprocess over stdio through the official MCP Python SDK client, on a sandbox of 10,000 customers unless
CDP_SANDBOX_CUSTOMERS says otherwise (with CDP_B2B_API_URL set: your tenant, and --export names your file).

    python examples/audience_planner.py
    python examples/audience_planner.py --segment "Frequent Buyers" --channel email --recent-days 60
    python examples/audience_planner.py --export winback.csv   # a file already in CDP_AUDIENCE_DIR
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.client.stdio import StdioServerParameters
from mcp.types import ElicitRequestParams, ElicitResult

DEFAULT_CUSTOMERS = "10000"


class ToolFailed(Exception):
    """A tool answered with is_error: its message says what to do next."""


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise ToolFailed(" ".join(getattr(block, "text", "") for block in result.content))
    return result.structured_content or {}


async def confirm(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
    """The planner reads the estimate and agrees (a host would show it to the person)."""
    print(f"Asked: {params.message} -> yes")
    return ElicitResult(action="accept", content={"proceed": True})


def export(environment: dict[str, str], folder: Path, rows: int) -> str:
    """A segment builder's export of `rows` customers of the sandbox, written into the audience folder."""
    name = f"winback-{rows}.csv"
    subprocess.run([sys.executable, "-m", "cdp_mcp", "sandbox", "export-audience", "--all", "--limit", str(rows),
                    "--out", str(folder / name)], env=environment, check=True, stdout=subprocess.DEVNULL)
    return name


async def follow(client: Client, handle: dict[str, Any]) -> dict[str, Any]:
    """get_screening until the screening no longer runs, at the pace it suggests."""
    screening_id = handle["screening_id"]
    state = handle
    while state["status"] in ("queued", "running", "paused"):
        await anyio.sleep(min(state.get("poll_after", 2), 5))
        state = await call(client, "get_screening", {"screening_id": screening_id})
        if state["status"] in ("running", "paused"):
            print(f"  {state.get('done', 0):,} of {state['customers']:,} screened ({state['status']})")
    return state


async def eligible(client: Client, screening_id: str) -> list[dict[str, Any]]:
    rows, cursor = [], None
    while True:
        page = await call(client, "get_screening", {"screening_id": screening_id, "only": "eligible",
                                                    **({"cursor": cursor} if cursor else {})})
        rows += page.get("rows", [])
        cursor = page.get("next_cursor")
        if not cursor:
            return rows


async def plan(args: argparse.Namespace) -> int:
    environment = {"CDP_LOG_LEVEL": "WARNING", "CDP_SANDBOX_CUSTOMERS": DEFAULT_CUSTOMERS} | {
        key: value for key, value in os.environ.items() if key.startswith("CDP_")}
    folder = Path(environment.get("CDP_AUDIENCE_DIR") or tempfile.mkdtemp(prefix="cdp-audiences-"))
    environment["CDP_AUDIENCE_DIR"] = str(folder)
    audience_file = args.export or export(os.environ | environment, folder, args.rows)
    server = StdioServerParameters(command=sys.executable, args=["-m", "cdp_mcp", "serve"], env=environment)
    async with Client(server, elicitation_callback=confirm) as client:
        try:
            handle = await call(client, "screen_audience", {
                "audience_file": audience_file, "segment_name": args.segment, "channel": args.channel,
                "recent_days": args.recent_days})
            print(f"Screening {handle['customers']:,} customers of {audience_file} in the background "
                  f"({handle.get('screening_id', 'at once')}).")
            done = await follow(client, handle) if handle.get("screening_id") else handle
            if done["status"] != "completed":
                raise ToolFailed(done.get("message") or done["status"])
            screening_id = done["screening_id"]
            chosen = await eligible(client, screening_id)
            table = (await client.read_resource(f"cdp://screenings/{screening_id}/results.csv")).contents[0]
        except ToolFailed as exc:
            print(f"Could not plan: {exc}", file=sys.stderr)
            return 1
    lines = list(csv.DictReader(io.StringIO(getattr(table, "text", ""))))
    summary = done["summary"]
    print(f"Campaign plan: segment {args.segment!r} on {args.channel}, last purchase within {args.recent_days} days")
    print(f"Audience file: {summary['customers']:,} customers screened ({done.get('rejected', 0)} rows rejected, "
          f"{done.get('duplicates', 0)} duplicates); the CSV of the result has {len(lines):,} rows.")
    print(f"Eligible: {summary['eligible']:,}. Left out: {summary['not_in_segment']:,} not in the segment, "
          f"{summary['not_contactable']:,} not opted in to {args.channel}, {summary['lapsed']:,} lapsed, "
          f"{summary['not_found']:,} not found, {summary['errors']:,} errors.")
    recent = sorted(chosen, key=lambda r: r.get("days_since_last_purchase", 10**6))
    print(f"Plan: week 1, the {min(len(recent), 500):,} most recent buyers; week 2, the other "
          f"{max(0, len(recent) - 500):,} eligible customers. Nobody else is contacted on {args.channel}.")
    if recent:
        first = recent[0]
        print(f"  First to contact: gcr_id {first.get('gcr_id')} ({first.get('name', 'unnamed')}), "
              f"last purchase {first.get('days_since_last_purchase')} days ago.")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segment", default="High Value", help="exact segment name (case-insensitive)")
    parser.add_argument("--channel", default="sms", choices=("email", "sms", "push", "whatsapp"))
    parser.add_argument("--recent-days", type=int, default=90, help="eligible only if they bought within this")
    parser.add_argument("--rows", type=int, default=5000, help="rows of the sandbox export to screen")
    parser.add_argument("--export", help="an export already in CDP_AUDIENCE_DIR, instead of one from the sandbox")
    return anyio.run(plan, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
