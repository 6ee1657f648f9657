"""Result sizes against a pass-through baseline: our text block, and the whole result, vs the raw API response.

A pass-through server (what OpenAPI-to-MCP generators make) would hand the model the API's JSON as is. This
benchmark serves the embedded sandbox (default seed and size) to the cdp-mcp server through a transport that
records every profile response body, calls each tool with a model's defaults (limit 10) for the 10 ordinary
sample customers (the hostile ones say nothing about ordinary data), and compares with the bytes of the raw
responses that very call read (the same customer, the same page size): the compact JSON text block, and the whole
CallToolResult as it travels (the text block plus `structuredContent`, the same object again: hosts that forward
both pay both). `userActivity` has no paging, so its raw response is cut to the events the tool shows (`limit`),
as a pass-through with the same cap would be. It prints the medians per tool and the three targets, which apply to
the text block:

- median over the resource tools at most 0.45 of raw;
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
from mcp.types import CallToolResult, TextContent

from cdp_mcp import wire
from cdp_mcp.backend import open_backend
from cdp_mcp.catalog import RESOURCES, Scope
from cdp_mcp.sandbox import SandboxOptions, open_sandbox, sample_customers
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.params import MAX_LIMIT
from cdp_mcp.tools.resources import profile_specs
from cdp_mcp.wire import ITEMS, meanings

__all__ = ["RawRecorder", "main"]

MEDIAN_TARGET, TOOL_TARGET, OVERVIEW_TARGET, OVERVIEW_BYTES = 0.45, 0.85, 0.25, 6144
LIMIT = 10  # the tools' default `limit`, what a model sends when it says nothing
SCREENED = 20
_BASE_URL = "http://sandbox.invalid/rcdpapi"


class RawRecorder(httpx2.AsyncBaseTransport):
    """Passes requests to the sandbox app and keeps the body size of every profile resource response."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner
        self.bodies: list[tuple[str, bytes]] = []  # (resource name, response body)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        resource = next((r.name for r in RESOURCES if request.url.path.endswith(r.route)), None)
        if resource is None:  # token create/update: not what a pass-through server would return
            return response
        body = await response.aread()
        self.bodies.append((resource, body))
        return httpx2.Response(response.status_code, headers=response.headers, content=body,
                               request=request)

    def take(self, limit: int = MAX_LIMIT) -> list[tuple[str, int]]:
        """(resource, bytes) of the bodies recorded since the last take; activity cut to `limit` events."""
        taken, self.bodies = self.bodies, []
        return [(name, len(_capped_activity(body, limit) if name == Scope.USER_ACTIVITY else body))
                for name, body in taken]


def _capped_activity(body: bytes, limit: int) -> bytes:
    """A raw userActivity response with only its first `limit` events (days emptied by the cut left out), in the
    API's compact JSON: what a pass-through capped like the tool would hand over."""
    payload = json.loads(body)
    days_key, events_key = meanings(wire.UserActivityData)[ITEMS], meanings(wire.ActivityDay)[ITEMS]
    kept, left = [], limit
    for day in payload["data"][days_key]:
        if left <= 0:
            break
        events = day[events_key][:left]
        left -= len(events)
        kept.append({**day, events_key: events})
    payload["data"][days_key] = kept
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _text_bytes(result: Any) -> int:
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return len(block.text.encode())


def _whole_bytes(result: CallToolResult) -> int:
    """The result's content blocks and structuredContent as compact JSON, what a host may forward to the model (the
    protocol's own fields, `isError`, `resultType` and the SDK's `_meta`, are left out: hosts do not forward them)."""
    whole = result.model_dump(mode="json", by_alias=True, exclude_none=True, include={"content", "structured_content"})
    return len(json.dumps(whole, separators=(",", ":"), ensure_ascii=False).encode())


def _arguments(tool: str, gcr_id: int, customer_code: str, segment_id: str) -> dict[str, Any]:
    """What a model would send: the customer by gcr_id (resolve_customer: by customer code), limit left at 10."""
    if tool == "resolve_customer":
        return {"customer_code": customer_code}
    extra = {"search_customer_segments": {"segment_name": "e"}, "search_customer_campaigns": {"campaign_name": "e"},
             "check_customer_in_segment": {"segment_id": segment_id}}
    return {"gcr_id": gcr_id, **extra.get(tool, {})}


def _row(name: str, ours: list[int], whole: list[int], raw: list[int]) -> str:
    text_ratios = [o / r for o, r in zip(ours, raw, strict=True)]
    whole_ratios = [w / r for w, r in zip(whole, raw, strict=True)]
    sizes = " ".join(f"{statistics.median(values):>6.0f}" for values in (ours, whole, raw))
    return (f"{name:30} {sizes} {statistics.median(text_ratios):>6.2f} {max(text_ratios):>5.2f} "
            f"{statistics.median(whole_ratios):>6.2f}")


async def main(redact: bool, detail: bool = False) -> None:
    samples = [s for s in sample_customers() if s.gcr_id is not None and not s.hostile]
    hostile = {s.gcr_id for s in sample_customers() if s.hostile}
    ordinary = [n for n in range(1, 100) if n not in hostile][:SCREENED]  # ordinary customers, from gcr_id 1
    with tempfile.TemporaryDirectory() as state:
        async with open_sandbox(SandboxOptions(db_path=Path(state) / "sandbox.sqlite3")) as sandbox:
            recorder = RawRecorder(httpx2.ASGITransport(app=sandbox.app))
            settings = Settings(_env_file=None, b2b_api_url=_BASE_URL,  # type: ignore[call-arg]
                                tenant_hash=sandbox.tenant_hash, state_dir=Path(state), redact_pii=redact,
                                currency="USD", log_level="WARNING")  # no line per upstream request
            server = build_server(settings, backend=lambda: open_backend(settings, transport=recorder))
            async with Client(server) as client:
                call: Callable[..., Any] = client.call_tool
                first = await call("list_customer_segments", {"gcr_id": 1, "limit": 1})
                segment_id = next(iter(first.structured_content["segments"]))
                recorder.take()
                print(f"{len(samples)} sample customers, default limit {LIMIT}, redact_pii={redact}; bytes are "
                      "medians; text = the text block, whole = the CallToolResult (text + structuredContent)")
                print(f"{'tool':30} {'text':>6} {'whole':>6} {'raw':>6} {'text/r':>6} {'max':>5} {'whole/r':>6}")
                medians: dict[str, float] = {}
                whole_medians: dict[str, float] = {}
                for spec in profile_specs():  # the resource tools; the composites are measured below
                    ours, whole, raw = [], [], []
                    for s in samples:
                        result = await call(spec.name, _arguments(spec.name, s.gcr_id, s.customer_code, segment_id))
                        assert not result.is_error, (spec.name, result.content)
                        raw.append(sum(size for name, size in recorder.take(LIMIT) if name == spec.resources[0]))
                        ours.append(_text_bytes(result))
                        whole.append(_whole_bytes(result))
                    medians[spec.name] = statistics.median(o / r for o, r in zip(ours, raw, strict=True))
                    whole_medians[spec.name] = statistics.median(w / r for w, r in zip(whole, raw, strict=True))
                    print(_row(spec.name, ours, whole, raw))
                    if detail:
                        print("    " + " ".join(f"{o}/{r}={o / r:.2f}" for o, r in zip(ours, raw, strict=True)))
                cards, card_whole, card_raw = [], [], []
                for s in samples:
                    result = await call("get_customer_overview", {"gcr_id": s.gcr_id})
                    cards.append(_text_bytes(result))
                    card_whole.append(_whole_bytes(result))
                    card_raw.append(sum(size for _, size in recorder.take()))
                print(_row("get_customer_overview", cards, card_whole, card_raw))
                screened = await call("screen_customers", {
                    "customers": [{"gcr_id": n} for n in ordinary], "segment_id": segment_id,
                    "channel": "email"})
                screen_raw = sum(size for _, size in recorder.take())
                print(_row(f"screen_customers ({SCREENED})", [_text_bytes(screened)], [_whole_bytes(screened)],
                           [screen_raw]))
                resource_median = statistics.median(medians.values())
                worst = max(medians, key=lambda t: medians[t])
                card_ratios = [c / r for c, r in zip(cards, card_raw, strict=True)]
                card_median = statistics.median(card_ratios)
                above = sorted(t for t, r in whole_medians.items() if r > 1)

                def verdict(ok: bool) -> str:
                    return "ok" if ok else "OVER TARGET"

                print(f"median over the {len(profile_specs())} resource tools: {resource_median:.2f} of raw "
                      f"(target <= {MEDIAN_TARGET}) "
                      f"{verdict(resource_median <= MEDIAN_TARGET)}")
                print(f"highest tool: {worst} {medians[worst]:.2f} of raw (target <= {TOOL_TARGET}) "
                      f"{verdict(medians[worst] <= TOOL_TARGET)}")
                print(f"overview card: {card_median:.2f} of the raw responses it reads (target <= {OVERVIEW_TARGET}), "
                      f"{min(cards)}-{max(cards)} B (target < {OVERVIEW_BYTES}) "
                      f"{verdict(card_median <= OVERVIEW_TARGET and max(cards) < OVERVIEW_BYTES)}")
                whole_median = statistics.median(whole_medians.values())
                tools = len(whole_medians)
                print(f"whole CallToolResult: median over the {tools} resource tools {whole_median:.2f} of raw, "
                      f"above raw for {len(above)} of {tools} ({', '.join(above) or 'none'}); the overview "
                      f"{statistics.median(w / r for w, r in zip(card_whole, card_raw, strict=True)):.2f}")


if __name__ == "__main__":
    anyio.run(main, "--redact" in sys.argv, "--detail" in sys.argv)
