"""Campaign planner: build a contactable audience for a segment, with consent checks, and a short plan.

An agentic loop without a model: screen the candidates (segment membership, channel consent, recency) with
`screen_customers`, look up other channels for members who did not opt in to this one, personalise the
first messages with `get_product_recommendations`, then write the plan. The server runs as a subprocess
over stdio through the official MCP Python SDK client; with CDP_B2B_API_URL unset it is the embedded sandbox.

    python examples/campaign_planner.py
    python examples/campaign_planner.py --segment "Frequent Buyers" --channel email --customers 1-80
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

BATCH = 100  # screen_customers takes up to 100 customers per call
ACTIVE_DAYS, LAPSED_DAYS = 30, 90

SERVER = StdioServerParameters(
    command=sys.executable,
    args=["-m", "cdp_mcp", "serve"],
    env={"CDP_LOG_LEVEL": "WARNING"} | {key: value for key, value in os.environ.items() if key.startswith("CDP_")},
)


class ToolFailed(Exception):
    """A tool answered with is_error: its message says what to do next."""


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise ToolFailed(" ".join(getattr(block, "text", "") for block in result.content))
    return result.structured_content or {}


def gcr_range(text: str) -> list[int]:
    """`1-50` or `3,7,12` -> gcr ids (in a real plan: the CRM export you want to target)."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",") if part.strip()]


async def screen(client: Client, ids: list[int], segment: str, channel: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), BATCH):
        batch = [{"gcr_id": gcr_id} for gcr_id in ids[start:start + BATCH]]
        result = await call(client, "screen_customers", {"customers": batch, "segment_name": segment,
                                                         "channel": channel})
        rows.extend(result.get("rows", []))
    return rows


def recency(days: int | None) -> str:
    if days is None:
        return "never bought"
    return "active" if days <= ACTIVE_DAYS else "cooling" if days <= LAPSED_DAYS else "lapsed"


async def plan(args: argparse.Namespace) -> int:
    ids = gcr_range(args.customers)
    async with Client(SERVER) as client:
        try:
            rows = await screen(client, ids, args.segment, args.channel)
            members = [r for r in rows if r.get("in_segment")]
            audience = [r for r in members if r.get("contactable")]
            no_consent = [r for r in members if not r.get("contactable")]
            alternatives: dict[int, list[str]] = {}
            for row in no_consent[:args.consent_checks]:  # consent check: where else may we reach them?
                consent = await call(client, "get_marketing_consent", {"gcr_id": row["gcr_id"]})
                alternatives[row["gcr_id"]] = consent.get("contactable_on", [])
            openers: dict[int, str] = {}
            for row in sorted(audience, key=lambda r: r.get("days_since_last_purchase") or 10**6)[:3]:
                recs = await call(client, "get_product_recommendations", {"gcr_id": row["gcr_id"], "limit": 1})
                if recs.get("products"):
                    code, top = next(iter(recs["products"].items()))
                    openers[row["gcr_id"]] = top.get("name") or code
        except ToolFailed as exc:
            print(f"Could not plan: {exc}", file=sys.stderr)
            return 1

    errors = [r for r in rows if r.get("error")]
    buckets: dict[str, list[int]] = {}
    for row in audience:
        buckets.setdefault(recency(row.get("days_since_last_purchase")), []).append(row["gcr_id"])

    print(f"Campaign plan: segment {args.segment!r} on {args.channel}")
    print(f"Screened {len(rows)} customers: {len(members)} in the segment, "
          f"{len(audience)} opted in to {args.channel} -> audience of {len(audience)}.")
    print(f"Left out: {len(no_consent)} members without {args.channel} consent; "
          f"{len(errors)} customers could not be screened.")
    for gcr_id, channels in alternatives.items():
        print(f"  gcr_id {gcr_id}: reachable on {', '.join(channels) if channels else 'no channel'} instead")
    if audience:
        print("Audience by last purchase: " + ", ".join(f"{len(v)} {k}" for k, v in sorted(buckets.items())))
    print("Plan:")
    step = 1
    if buckets.get("active"):
        print(f"  {step}. Week 1: message the {len(buckets['active'])} active customers with a personal pick"
              + (f" (e.g. {', '.join(f'gcr_id {k}: {v}' for k, v in openers.items())})." if openers else "."))
        step += 1
    winback = len(buckets.get("cooling", [])) + len(buckets.get("lapsed", [])) + len(buckets.get("never bought", []))
    if winback:
        print(f"  {step}. Week 2: a win-back offer to the {winback} cooling, lapsed or never-bought customers.")
        step += 1
    if no_consent:
        print(f"  {step}. Do not contact the {len(no_consent)} members without {args.channel} consent on "
              f"{args.channel}; use a channel they opted in to, or leave them out.")
        step += 1
    if not audience:
        print(f"  {step}. Nobody to contact: widen the candidate list or pick another segment or channel.")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segment", default="High Value", help="exact segment name (case-insensitive)")
    parser.add_argument("--channel", default="sms", choices=("email", "sms", "push", "whatsapp"))
    parser.add_argument("--customers", default="1-50", help="candidate gcr ids: 1-50 or 3,7,12")
    parser.add_argument("--consent-checks", type=int, default=5, help="members without consent to look up")
    return anyio.run(plan, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
