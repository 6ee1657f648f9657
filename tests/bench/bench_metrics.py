"""Metrics figures: what counting adds to each tool call, and what one scrape of /metrics costs.

1. Recording, in isolation: what one get_customer_profile call records (its tool call with its duration, and its one
   upstream request), per call, with the metrics off (stdio; nothing serves them) and on; beside it, the guard's
   other per-call additions of issue 16: naming the call for log lines (always) and the cancel scope a drain may
   stop it with (HTTP only).
2. The same call end to end, in process through the SDK client on a small embedded sandbox: rounds with the
   metrics off and on, alternating (the machine is shared and noisy: compare the two within one run).
3. One scrape: rendering the registry (the daily allowance read from the token state included) with every tool,
   outcome, resource and status a busy server has seen, and a GET /metrics over loopback HTTP.

Prints figures, asserts nothing.

    python tests/bench/bench_metrics.py [calls] [rounds]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
from mcp import Client

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cdp_mcp import call_context, metrics  # noqa: E402
from cdp_mcp.catalog import RESOURCE_NAMES  # noqa: E402
from cdp_mcp.http_app import METRICS_PATH, create_http_app  # noqa: E402
from cdp_mcp.sandbox.server import bind_socket  # noqa: E402
from cdp_mcp.server import build_server  # noqa: E402
from cdp_mcp.settings import Settings  # noqa: E402
from cdp_mcp.tools.registry import all_specs  # noqa: E402
from tests.helpers import served_on  # noqa: E402

TOKEN = "bench-metrics-token-0123456789"
OUTCOMES = ("ok", "CUSTOMER_NOT_FOUND", "INVALID_INPUT", "UPSTREAM_UNAVAILABLE")
STATUSES = (200, 404, 429, 503, None)


def _record_one_call() -> None:
    metrics.tool_call("get_customer_profile", "ok", 0.012)
    metrics.upstream_request("basic", 200)


async def bench_recording(repeat: int = 200_000) -> None:
    def per_call() -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            _record_one_call()
        return (time.perf_counter() - started) / repeat * 1e9

    saved = metrics._State.instruments
    metrics._State.instruments = None
    off = min(per_call() for _ in range(3))
    metrics._State.instruments = saved
    metrics.enable()
    on = min(per_call() for _ in range(3))
    print(f"recording one call (its tool call and duration, one upstream request): {off:.0f} ns with the metrics off, "
          f"{on:.0f} ns on ({repeat:,} calls, best of 3)")

    def named() -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            with call_context.bound("0123456789ab", "ops@corp.example"):
                pass
        return (time.perf_counter() - started) / repeat * 1e9

    async def scoped() -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            with anyio.CancelScope():  # noqa: ASYNC100 - the scope alone is what is measured
                pass
        return (time.perf_counter() - started) / repeat * 1e9

    bound = min(named() for _ in range(3))
    scope = min([await scoped() for _ in range(3)])
    print(f"the guard's other additions per call: the request id and principal bound for log lines {bound:.0f} ns; "
          f"the cancel scope a drain may stop the call with (HTTP only) {scope:.0f} ns")


async def bench_end_to_end(state: Path, calls: int, rounds: int) -> None:
    settings = Settings(state_dir=state, sandbox_customers=200, log_level="WARNING")
    saved = metrics._State.instruments
    figures: dict[str, list[float]] = {"off": [], "on": []}
    async with Client(build_server(settings)) as client:
        await client.call_tool("get_customer_profile", {"gcr_id": 1})  # the sandbox and a token, once
        for index in range(rounds * 2):
            label = ("off", "on")[index % 2]
            metrics._State.instruments = saved if label == "on" else None
            started = time.perf_counter()
            for _ in range(calls):
                await client.call_tool("get_customer_profile", {"gcr_id": 1})
            figures[label].append((time.perf_counter() - started) / calls * 1000)
    metrics._State.instruments = saved
    off, on = statistics.median(figures["off"]), statistics.median(figures["on"])
    print(f"get_customer_profile in process: {off:.3f} ms/call with the metrics off, {on:.3f} ms on "
          f"(median of {rounds} rounds of {calls} calls each, alternating; difference {(on - off) * 1000:+.0f} us, "
          "within the noise unless it exceeds the recording figure above many times)")


def _busy_server() -> int:
    """Every series a busy server has: each tool with four outcomes, each resource with five statuses."""
    for spec in all_specs():
        for outcome in OUTCOMES:
            metrics.tool_call(spec.name, outcome, 0.05)
    for resource in (*RESOURCE_NAMES, "token create", "token update"):
        for status in STATUSES:
            metrics.upstream_request(resource, status)
    for operation in ("create", "update"):
        metrics.token_operation(operation, "ok")
    for outcome in metrics.ROW_OUTCOMES:
        metrics.screening_rows("screen_customers", outcome, 3)
    return len(all_specs())


async def bench_scrape(state: Path, scrapes: int) -> None:
    tools = _busy_server()
    settings = Settings(state_dir=state, sandbox_customers=200, log_level="WARNING", mcp_metrics_token=TOKEN)
    sock = bind_socket("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with served_on(create_http_app(build_server(settings), settings), sock, within=None), \
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        async with Client(f"{base}/mcp") as client:  # opens the backend, so scrapes read the token state
            await client.call_tool("get_customer_profile", {"gcr_id": 1})
        body, _ = await metrics.render()
        lines = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
        started = time.perf_counter()
        for _ in range(scrapes):
            await metrics.render()
        rendered = (time.perf_counter() - started) / scrapes * 1000
        await http.get(base + METRICS_PATH)
        started = time.perf_counter()
        for _ in range(scrapes):
            response = await http.get(base + METRICS_PATH)
        served = (time.perf_counter() - started) / scrapes * 1000
    assert response.status_code == 200
    print(f"one scrape ({tools} tools x {len(OUTCOMES)} outcomes, {len(RESOURCE_NAMES) + 2} resources x "
          f"{len(STATUSES)} statuses: {len(lines):,} samples, {len(body) / 1024:.0f} KB): rendered in "
          f"{rendered:.2f} ms (the allowance read from the token state included), GET /metrics over loopback HTTP "
          f"{served:.2f} ms (mean of {scrapes})")


async def main(calls: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as state:
        await bench_recording()
        await bench_end_to_end(Path(state), calls, rounds)
        await bench_scrape(Path(state), scrapes=200)


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 300, int(sys.argv[2]) if len(sys.argv) > 2 else 5)
