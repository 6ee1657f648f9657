"""Support assistant: what did this customer buy lately, are they reachable by SMS, what should we recommend?

Drives the cdp-mcp server the way a desktop host does: as a subprocess over stdio, through the official MCP
Python SDK client. With CDP_B2B_API_URL unset the server answers from its embedded sandbox.

    python examples/support_assistant.py                          # a sandbox sample customer
    python examples/support_assistant.py grace.hopper@example.com
    python examples/support_assistant.py gcr_id=3                 # or mobile=..., customer_code=...
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

DEFAULT_CUSTOMER = "ada.lovelace@example.com"

# The SDK starts the server with a minimal environment (PATH, HOME...); pass our CDP_* settings along.
SERVER = StdioServerParameters(
    command=sys.executable,
    args=["-m", "cdp_mcp", "serve"],
    env={"CDP_LOG_LEVEL": "WARNING"} | {key: value for key, value in os.environ.items() if key.startswith("CDP_")},
)


class ToolFailed(Exception):
    """A tool answered with is_error: its message says what to do next."""


def identifier(text: str) -> dict[str, Any]:
    """`name@domain` -> email; `key=value` -> that identifier (gcr_id as a number)."""
    if "=" in text:
        key, _, value = text.partition("=")
        return {key: int(value) if key == "gcr_id" else value}
    return {"email": text}


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise ToolFailed(" ".join(getattr(block, "text", "") for block in result.content))
    return result.structured_content or {}


def money(amount: float | None, currency: str | None) -> str:
    """An amount of a result in that result's currency (stated once per result)."""
    if amount is None:
        return "-"
    return f"{currency or ''} {amount:,.2f}".strip()


async def assist(who: dict[str, Any]) -> int:
    async with Client(SERVER) as client:
        try:
            gcr_id = (await call(client, "resolve_customer", who))["gcr_id"]  # cheapest identifier from here on
            profile = await call(client, "get_customer_profile", {"gcr_id": gcr_id})
            purchases = await call(client, "list_purchased_products", {"gcr_id": gcr_id, "limit": 5})
            consent = await call(client, "get_marketing_consent", {"gcr_id": gcr_id})
            recommendations = await call(client, "get_product_recommendations", {"gcr_id": gcr_id, "limit": 3})
        except ToolFailed as exc:
            print(f"Could not answer: {exc}", file=sys.stderr)
            return 1

    place = ", ".join(p for p in (profile.get("city"), profile.get("state")) if p)
    print(f"{profile.get('name', 'Customer')} (gcr_id {gcr_id}) · {profile.get('tier') or 'no tier'} · {place}")
    last = profile.get("days_since_last_purchase")
    print(f"{profile.get('orders', 0)} orders, {money(profile.get('total_sales'), profile.get('currency'))} in all"
          + (f", last purchase {last} days ago" if last is not None else ", no purchase yet"))

    print("\nWhat did they buy lately?")
    for order in purchases.get("orders", {}).values():
        for code, line in order["products"].items():
            print(f"  {order.get('date', '?'):<10}  {line.get('name') or code} x{line.get('quantity', 1)}"
                  f" ({line.get('category', '-')})  {money(line.get('amount'), purchases.get('currency'))}")
    if not purchases.get("orders"):
        print("  nothing yet")
    elif purchases.get("remaining"):
        print(f"  ... and {purchases['remaining']} more")

    print("\nAre they reachable by SMS?")
    if "sms" in consent.get("contactable_on", []):
        categories = consent.get("categories", {}).get("sms") or ["all messages"]
        print(f"  Yes: opted in to SMS ({', '.join(categories)}).")
    else:
        others = ", ".join(consent.get("contactable_on", [])) or "no channel"
        print(f"  No: not opted in to SMS. Contactable on: {others}.")

    print("\nWhat should we recommend?")
    currency = recommendations.get("currency")
    for code, product in recommendations.get("products", {}).items():
        print(f"  - {product.get('name') or code} ({code})  {money(product.get('price'), currency)}")
    if not recommendations.get("products"):
        print("  no recommendation available")
    return 0


def main(argv: list[str]) -> int:
    return anyio.run(assist, identifier(argv[0] if argv else DEFAULT_CUSTOMER))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
