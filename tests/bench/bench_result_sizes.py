"""Result sizes against a pass-through baseline: our text block vs the raw API response for the same call.

A pass-through server (what OpenAPI-to-MCP generators make) would hand the model the API's JSON as is. This
benchmark serves the embedded sandbox (default seed and size) to the cdp-mcp server through a transport that
records every profile response body, calls each tool with a model's defaults (limit 10) for the 10 ordinary
sample customers (the hostile ones say nothing about ordinary data), and compares the bytes of our compact JSON
text block with the bytes of the raw responses that very call read: the same customer, the same page size. It
prints the median per tool and the three targets:

- median over the 14 resource tools at most 0.45 of raw;
- no tool above 0.85 of raw (median over the customers);
- the overview card at most 0.25 of the raw responses it reads, and under 6 KB.

    python tests/bench/bench_result_sizes.py [--redact] [--detail]

`--detail` adds the ratio for each customer (gcr_id 1-10) under each tool.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.types import TextContent

from cdp_mcp.backend import open_backend
from cdp_mcp.catalog import RESOURCES
from cdp_mcp.sandbox import SandboxOptions, open_sandbox, sample_customers
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.profile import profile_specs

__all__ = ["RawRecorder", "main"]

MEDIAN_TARGET, TOOL_TARGET, OVERVIEW_TARGET, OVERVIEW_BYTES = 0.45, 0.85, 0.25, 6144
SCREENED = 20
_BASE_URL = "http://sandbox.invalid/rcdpapi"


class RawRecorder(httpx2.AsyncBaseTransport):
    """Passes requests to the sandbox app and keeps the body size of every profile resource response."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner
        self.bodies: list[tuple[str, int]] = []  # (resource name, response body bytes)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        resource = next((r.name for r in RESOURCES if request.url.path.endswith(r.route)), None)
        if resource is None:  # token create/update: not what a pass-through server would return
            return response
        body = await response.aread()
        self.bodies.append((resource, len(body)))
        return httpx2.Response(response.status_code, headers=response.headers, content=body,
                               request=request)

    def take(self) -> list[tuple[str, int]]:
        taken, self.bodies = self.bodies, []
        return taken


def _text_bytes(result: Any) -> int:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return len(block.text.encode())


def _arguments(tool: str, gcr_id: int, customer_code: str, segment_id: str) -> dict[str, Any]:
    """What a model would send: the customer by gcr_id (resolve_customer: by customer code), limit left at 10."""
    if tool == "resolve_customer":
        return {"customer_code": customer_code}
    extra = {"search_customer_segments": {"segment_name": "e"}, "search_customer_campaigns": {"campaign_name": "e"},
             "check_customer_in_segment": {"segment_id": segment_id}}
    return {"gcr_id": gcr_id, **extra.get(tool, {})}


def _row(name: str, ours: list[int], raw: list[int], ratios: list[float]) -> str:
    return (f"{name:30} {statistics.median(ours):>7.0f} {statistics.median(raw):>7.0f} "
            f"{statistics.median(ratios):>6.2f} {max(ratios):>6.2f}")


async def main(redact: bool, detail: bool = False) -> None:
    samples = [s for s in sample_customers() if s.gcr_id is not None and not s.hostile]
    hostile = {s.gcr_id for s in sample_customers() if s.hostile}
    screened = [n for n in range(1, 100) if n not in hostile][:SCREENED]  # ordinary customers, from gcr_id 1
    with tempfile.TemporaryDirectory() as state:
        async with open_sandbox(SandboxOptions(db_path=Path(state) / "sandbox.sqlite3")) as sandbox:
            recorder = RawRecorder(httpx2.ASGITransport(app=sandbox.app))
            settings = Settings(_env_file=None, b2b_api_url=_BASE_URL,  # type: ignore[call-arg]
                                tenant_hash=sandbox.tenant_hash, state_dir=Path(state), redact_pii=redact,
                                currency="USD")
            server = build_server(settings, backend=lambda: open_backend(settings, transport=recorder))
            async with Client(server) as client:
                listed = (await client.list_tools()).tools
                call: Callable[..., Any] = client.call_tool
                first = await call("list_customer_segments", {"gcr_id": 1, "limit": 1})
                segment_id = next(iter(first.structured_content["segments"]))
                recorder.take()
                print(f"{len(samples)} sample customers, default limit 10, redact_pii={redact}; bytes are medians")
                print(f"{'tool':30} {'ours':>7} {'raw':>7} {'ratio':>6} {'max':>6}")
                medians: dict[str, float] = {}
                for spec in profile_specs():  # the 14 resource tools; the composites are measured below
                    ours, raw, ratios = [], [], []
                    for s in samples:
                        result = await call(spec.name, _arguments(spec.name, s.gcr_id, s.customer_code, segment_id))
                        assert not result.is_error, (spec.name, result.content)
                        body = sum(size for name, size in recorder.take() if name == spec.resources[0])
                        ours.append(_text_bytes(result))
                        raw.append(body)
                        ratios.append(ours[-1] / body)
                    medians[spec.name] = statistics.median(ratios)
                    print(_row(spec.name, ours, raw, ratios))
                    if detail:
                        print("    " + " ".join(f"{o}/{r}={o / r:.2f}" for o, r in zip(ours, raw, strict=True)))
                cards, card_raw, card_ratios = [], [], []
                for s in samples:
                    result = await call("get_customer_overview", {"gcr_id": s.gcr_id})
                    cards.append(_text_bytes(result))
                    card_raw.append(sum(size for _, size in recorder.take()))
                    card_ratios.append(cards[-1] / card_raw[-1])
                print(_row("get_customer_overview", cards, card_raw, card_ratios))
                screened = await call("screen_customers", {
                    "customers": [{"gcr_id": n} for n in screened], "segment_id": segment_id,
                    "channel": "email"})
                screen_raw = sum(size for _, size in recorder.take())
                print(_row(f"screen_customers ({SCREENED})", [_text_bytes(screened)], [screen_raw],
                           [_text_bytes(screened) / screen_raw]))
                resource_median = statistics.median(medians.values())
                worst = max(medians, key=lambda t: medians[t])
                card_median = statistics.median(card_ratios)

                def verdict(ok: bool) -> str:
                    return "ok" if ok else "OVER TARGET"

                print(f"median over the 14 resource tools: {resource_median:.2f} of raw (target <= {MEDIAN_TARGET}) "
                      f"{verdict(resource_median <= MEDIAN_TARGET)}")
                print(f"highest tool: {worst} {medians[worst]:.2f} of raw (target <= {TOOL_TARGET}) "
                      f"{verdict(medians[worst] <= TOOL_TARGET)}")
                print(f"overview card: {card_median:.2f} of the raw responses it reads (target <= {OVERVIEW_TARGET}), "
                      f"{min(cards)}-{max(cards)} B (target < {OVERVIEW_BYTES}) "
                      f"{verdict(card_median <= OVERVIEW_TARGET and max(cards) < OVERVIEW_BYTES)}")
                definitions = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed]
                total = len(json.dumps(definitions, separators=(",", ":")).encode())
                inputs = sum(len(json.dumps(d["inputSchema"], separators=(",", ":")).encode()) for d in definitions)
                print(f"tools/list: {len(listed)} tools, {total} B compact JSON ({inputs} B of input schemas)")


if __name__ == "__main__":
    anyio.run(main, "--redact" in sys.argv, "--detail" in sys.argv)
