"""What sanitizing and labelling customer-written text costs: time added per result, bytes changed on ordinary data.

The embedded sandbox (default seed and size) answers in process through a transport that times every upstream
request. For each tool and each of the 10 ordinary sample customers it measures, medians over the customers:

- the tool's own overhead: an in-process call through the official SDK client, less the time upstream requests
  were in flight (the union of their intervals, so the overview's parallel fetches count once);
- the time `untrusted.screen` adds to that call's result (sanitizing every string for its origin and collecting
  the JSON pointers of the customer-written ones; the compact JSON text it reads is written for the text block
  anyway), timed on the very result the handler built;
- the bytes the sanitizer changes in that result (ordinary data: target 0), and for contrast in the hostile
  samples' results.

Targets: the added time under 5% of the tool's own overhead for every tool; 0 bytes changed on ordinary data.

    python tests/bench/bench_sanitize.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from pydantic import BaseModel

from cdp_mcp.backend import open_backend
from cdp_mcp.sandbox import SandboxOptions, open_sandbox, sample_customers
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.params import CustomerRef
from cdp_mcp.tools.registry import all_specs
from cdp_mcp.tools.results import compact_json, with_currency
from cdp_mcp.tools.spec import ToolCall, ToolSpec
from cdp_mcp.tools.untrusted import Policy, screen

__all__ = ["TimingTransport", "main"]

TIME_TARGET = 0.05
CALLS = 5  # calls per tool and customer; the median is kept
SCREENS = 200  # screenings of one result, to time it above the clock's grain
_BASE_URL = "http://sandbox.invalid/rcdpapi"


class TimingTransport(httpx2.AsyncBaseTransport):
    """Passes requests to the sandbox app and keeps when each was in flight."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner
        self.spans: list[tuple[float, float]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        started = time.perf_counter()
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        self.spans.append((started, time.perf_counter()))
        return httpx2.Response(response.status_code, headers=response.headers, content=body, request=request)

    def upstream(self) -> float:
        """Seconds at least one request was in flight since the last call (the union of the spans); then forget."""
        total, end = 0.0, float("-inf")
        for start, stop in sorted(self.spans):
            if stop > end:
                total += stop - max(start, end)
                end = stop
        self.spans = []
        return total


def _arguments(spec: ToolSpec, gcr_id: int, segment_id: str) -> dict[str, Any]:
    if spec.name == "screen_customers":
        return {"customers": [{"gcr_id": gcr_id}, {"gcr_id": gcr_id + 20}], "segment_id": segment_id,
                "channel": "email"}
    extra = {"search_customer_segments": {"segment_name": "e"}, "search_customer_campaigns": {"campaign_name": "e"},
             "check_customer_in_segment": {"segment_id": segment_id}}
    return {"gcr_id": gcr_id, **extra.get(spec.name, {})}


def _handler_arguments(spec: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments as the SDK hands them to a handler: defaults filled, customers validated."""
    defaults = {p.name: p.default for p in spec.params if p.default is not p.parameter().empty}
    if "customers" in arguments:
        arguments = {**arguments, "customers": [CustomerRef(**c) for c in arguments["customers"]]}
    return {**defaults, **arguments}


def _screen_time(model: BaseModel) -> tuple[float, int]:
    """Seconds `screen` adds to this result, and the bytes it changes in it."""
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    with_currency(model, data, None)
    policy, text = Policy(), compact_json(data)  # the text block is written whether screened or not
    started = time.perf_counter()
    for _ in range(SCREENS):
        screened = screen(data, type(model), policy, text)
    elapsed = (time.perf_counter() - started) / SCREENS
    before, after = text.encode(), compact_json(screened.data).encode()
    changed = sum(a != b for a, b in zip(before, after, strict=False)) + abs(len(before) - len(after))
    return elapsed, changed


async def main() -> None:
    ordinary = [s.gcr_id for s in sample_customers() if s.gcr_id is not None and not s.hostile]
    hostile = [s.gcr_id for s in sample_customers() if s.gcr_id is not None and s.hostile]
    with tempfile.TemporaryDirectory() as state:
        async with open_sandbox(SandboxOptions(db_path=Path(state) / "sandbox.sqlite3")) as sandbox:
            timing = TimingTransport(httpx2.ASGITransport(app=sandbox.app))
            settings = Settings(_env_file=None, b2b_api_url=_BASE_URL,  # type: ignore[call-arg]
                                tenant_hash=sandbox.tenant_hash, state_dir=Path(state), currency="USD",
                                log_level="WARNING")  # no line per upstream request
            server = build_server(settings, backend=lambda: open_backend(settings, transport=timing))
            segment_id = "101"
            print(f"{len(ordinary)} ordinary sample customers, {CALLS} calls each; medians over the customers")
            print(f"{'tool':30} {'call ms':>8} {'own ms':>7} {'screen us':>10} {'share':>6} {'changed B':>10}")
            worst, changed_total, hostile_changed = 0.0, 0, 0
            async with Client(server) as client, open_backend(settings, transport=timing) as backend:
                for spec in all_specs():
                    calls, owns, screens, changes = [], [], [], []
                    for gcr_id in ordinary:
                        arguments = _arguments(spec, gcr_id, segment_id)
                        per_call, per_own = [], []
                        for _ in range(CALLS):
                            timing.upstream()
                            started = time.perf_counter()
                            result = await client.call_tool(spec.name, arguments)
                            elapsed = time.perf_counter() - started
                            assert not result.is_error, (spec.name, result.content)
                            per_call.append(elapsed)
                            per_own.append(elapsed - timing.upstream())
                        calls.append(statistics.median(per_call))
                        owns.append(statistics.median(per_own))
                        model = await spec.handler(ToolCall(spec, backend, settings,
                                                            _handler_arguments(spec, arguments)))
                        seconds, changed = _screen_time(model)
                        screens.append(seconds)
                        changes.append(changed)
                    for gcr_id in hostile:
                        arguments = _handler_arguments(spec, _arguments(spec, gcr_id, segment_id))
                        hostile_changed += _screen_time(await spec.handler(ToolCall(spec, backend, settings,
                                                                                    arguments)))[1]
                    share = statistics.median(screens) / statistics.median(owns)
                    worst = max(worst, share)
                    changed_total += sum(changes)
                    print(f"{spec.name:30} {statistics.median(calls) * 1e3:8.2f} {statistics.median(owns) * 1e3:7.2f} "
                          f"{statistics.median(screens) * 1e6:10.1f} {share:6.1%} {sum(changes):10d}")
    print(f"highest share of a tool's own overhead: {worst:.1%} (target < {TIME_TARGET:.0%}) "
          f"{'ok' if worst < TIME_TARGET else 'OVER TARGET'}")
    print(f"bytes changed on ordinary data: {changed_total} (target 0) {'ok' if changed_total == 0 else 'CHANGED'}")
    print(f"bytes changed in the hostile samples' results (for contrast): {hostile_changed}")


if __name__ == "__main__":
    anyio.run(main)
