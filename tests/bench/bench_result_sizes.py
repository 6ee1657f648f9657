"""Result sizes per tool for a sample customer (bytes of the text block), the overview card, and tools/list.

Runs the server on the embedded sandbox (default seed and size) in a temporary state directory:

    python tests/bench/bench_result_sizes.py [--redact]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from cdp_mcp.sandbox import sample_customers
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.registry import all_specs


def arguments(tool: str, email: str, segment_id: str) -> dict[str, Any]:
    """Defaults a model would send: limit left at 10, the customer by email."""
    extra: dict[str, dict[str, Any]] = {
        "search_customer_segments": {"segment_name": "e"},
        "search_customer_campaigns": {"campaign_name": "e"},
        "check_customer_in_segment": {"segment_id": segment_id},
        "screen_customers": {"customers": [{"gcr_id": n} for n in range(1, 11)], "segment_id": segment_id,
                             "channel": "email"},
    }
    if tool == "screen_customers":
        return extra[tool]
    return {"email": email, **extra.get(tool, {})}


async def main(redact: bool) -> None:
    vip = next(s for s in sample_customers() if s.label == "vip")
    with tempfile.TemporaryDirectory() as state:
        settings = Settings(state_dir=Path(state), redact_pii=redact)
        async with Client(build_server(settings)) as client:
            listed = (await client.list_tools()).tools
            first = await client.call_tool("list_customer_segments", {"email": vip.email, "limit": 1})
            segment_id = first.structured_content["items"][0]["id"]  # type: ignore[index]
            print(f"sample customer: {vip.label} (gcr_id {vip.gcr_id}), redact_pii={redact}")
            print(f"{'tool':32} {'bytes':>6} {'ms':>6}")
            for spec in all_specs():
                started = time.perf_counter()
                result = await client.call_tool(spec.name, arguments(spec.name, vip.email, segment_id))
                elapsed = (time.perf_counter() - started) * 1000
                size = len(result.content[0].text.encode())  # type: ignore[union-attr]
                note = " (error)" if result.is_error else ""
                print(f"{spec.name:32} {size:>6} {elapsed:>6.1f}{note}")
            cards = []
            for customer in sample_customers():
                if customer.gcr_id is not None:
                    card = await client.call_tool("get_customer_overview", {"gcr_id": customer.gcr_id})
                    cards.append(len(card.content[0].text.encode()))  # type: ignore[union-attr]
            print(f"overview card over the {len(cards)} sample customers: min {min(cards)} B, "
                  f"max {max(cards)} B, mean {sum(cards) / len(cards):.0f} B (budget 6144 B)")
            definitions = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed]
            total = len(json.dumps(definitions, separators=(",", ":")).encode())
            inputs = sum(len(json.dumps(d["inputSchema"], separators=(",", ":")).encode()) for d in definitions)
            print(f"tools/list: {len(listed)} tools, {total} B compact JSON ({inputs} B of input schemas)")


if __name__ == "__main__":
    anyio.run(main, "--redact" in sys.argv)
