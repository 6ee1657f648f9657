"""cdp-mcp's own cost per call: a tool call against the SDK floor plus the upstream requests it makes.

Three things are timed in alternating rounds in one process, on one embedded-sandbox tenant (default size):

- the tool call, through the official SDK client in process (`get_customer_profile` and `get_customer_overview`
  by gcr_id, tokens warm);
- the SDK floor: an "echo" server on the same SDK whose tools have the same signatures and output models and
  return the very result cdp-mcp returned (so argument validation, output validation and serialisation, the
  SDK's work, are in the floor);
- direct HTTP: the same upstream requests the tool makes (one for the profile, the overview's six concurrently),
  sent with httpx2 through the same in-process ASGI transport, with a live token, the bodies read.

Own overhead = tool - floor - direct HTTP: parsing, shaping, the broker, the guard, the audit hook. Targets:
<= 0.5 ms per profile call and <= 1 ms per overview. The medians of per-round figures are printed, with CPU time
per call beside wall time. The verdict is on CPU time: everything (client, servers, sandbox threads) runs in this
process, so it counts all the work, and other processes on a shared machine distort it far less than wall time,
which also counts waiting for a core. Prints figures and verdicts, asserts nothing.

    python tests/bench/bench_overhead.py [rounds] [calls-per-round] [--profile]

`--profile` then runs each tool under cProfile and prints the functions that took the most time of their own.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
import httpx2
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult

from cdp_mcp.backend import open_backend
from cdp_mcp.catalog import TOKEN_CREATE_PATH, Header, resource
from cdp_mcp.sandbox import SandboxOptions, open_sandbox
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.overview import OVERVIEW_RESOURCES
from cdp_mcp.tools.registry import all_specs

__all__ = ["main"]

BASE_URL = "http://sandbox.invalid/rcdpapi"
TARGETS = {"get_customer_profile": 0.5, "get_customer_overview": 1.0}
RESOURCES = {"get_customer_profile": ("basic",), "get_customer_overview": OVERVIEW_RESOURCES}
GCR_ID = 1


def _echo_server(results: dict[str, CallToolResult]) -> MCPServer[Any]:
    """Tools with cdp-mcp's names, signatures and output models that return a fixed result: the SDK's own cost."""
    specs = {s.name: s for s in all_specs()}
    tools = []
    for name, fixed in results.items():
        spec = specs[name]

        async def echo(_fixed: CallToolResult = fixed, **_: Any) -> CallToolResult:
            return _fixed

        returns = Annotated[CallToolResult, spec.output]
        echo.__signature__ = spec.signature.replace(return_annotation=returns)  # type: ignore[attr-defined]
        echo.__annotations__ = {**{p.name: p.annotation for p in spec.params}, "return": returns}
        echo.__name__ = name
        tools.append(Tool.from_function(echo, name=name, description=spec.description, structured_output=True))
    return MCPServer("echo", tools=tools)


async def _timed(work: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    """(wall ms, CPU ms) per call."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await work()
    return (time.perf_counter() - wall) * 1000 / calls, (time.process_time() - cpu) * 1000 / calls


async def main(rounds: int, calls: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="cdp-mcp-bench-") as state:
        async with open_sandbox(SandboxOptions(db_path=Path(state) / "sandbox.sqlite3")) as sandbox:
            transport = httpx2.ASGITransport(app=sandbox.app)
            settings = Settings(_env_file=None, b2b_api_url=BASE_URL, tenant_hash=sandbox.tenant_hash,  # type: ignore[call-arg]
                                state_dir=Path(state), currency="USD", log_level="WARNING")
            server = build_server(settings, backend=lambda: open_backend(settings, transport=transport))
            async with httpx2.AsyncClient(base_url=BASE_URL, transport=transport) as http, Client(server) as ours:
                created = await http.post(TOKEN_CREATE_PATH, headers={Header.TENANT_HASH: sandbox.tenant_hash},
                                          json={"resource": sorted({r for rs in RESOURCES.values() for r in rs})})
                token = created.json()["data"]["token"]
                headers = {Header.TENANT_HASH: sandbox.tenant_hash, Header.ACCESS_TOKEN: token, "gcrId": str(GCR_ID)}
                results = {name: await ours.call_tool(name, {"gcr_id": GCR_ID}) for name in RESOURCES}
                assert not any(r.is_error for r in results.values()), results
                async with Client(_echo_server(results)) as echo:

                    def direct(names: tuple[str, ...]) -> Callable[[], Awaitable[None]]:
                        async def send(name: str) -> None:
                            response = await http.post(resource(name).route, headers=headers)
                            assert response.status_code == 200 and response.content, response.text

                        async def requests() -> None:
                            if len(names) == 1:
                                return await send(names[0])
                            async with anyio.create_task_group() as tg:
                                for name in names:
                                    tg.start_soon(send, name)
                            return None

                        return requests

                    ways: dict[str, dict[str, Callable[[], Awaitable[Any]]]] = {
                        tool: {"cdp-mcp": lambda t=tool: ours.call_tool(t, {"gcr_id": GCR_ID}),
                               "echo floor": lambda t=tool: echo.call_tool(t, {"gcr_id": GCR_ID}),
                               "direct HTTP": direct(RESOURCES[tool])}
                        for tool in RESOURCES}
                    figures = {tool: {way: ([], []) for way in w} for tool, w in ways.items()}
                    for w in ways.values():  # warm-up
                        for work in w.values():
                            await _timed(work, 20)
                    for round_ in range(rounds):
                        for tool, w in ways.items():
                            order = list(w.items())
                            for way, work in order[round_ % 3:] + order[:round_ % 3]:  # rotate the first
                                wall, cpu = await _timed(work, calls)
                                figures[tool][way][0].append(wall)
                                figures[tool][way][1].append(cpu)
                    _report(figures, rounds, calls)
                    if profile:
                        for tool in RESOURCES:
                            print(f"cProfile of 1,000 {tool} calls, by own time (top 25):")
                            await _profiled(lambda t=tool: ours.call_tool(t, {"gcr_id": GCR_ID}), 1000)


def _report(figures: dict[str, dict[str, tuple[list[float], list[float]]]], rounds: int, calls: int) -> None:
    print(f"in process, {rounds} alternating rounds of {calls} calls; medians of the per-round ms per call "
          "(wall | CPU)")
    for tool, ways in figures.items():
        for way, (wall, cpu) in ways.items():
            print(f"  {tool:22} {way:12} {statistics.median(wall):6.3f} | {statistics.median(cpu):6.3f}")
        own = [a - b - c for a, b, c in zip(*(ways[w][0] for w in ("cdp-mcp", "echo floor", "direct HTTP")),
                                            strict=True)]
        own_cpu = [a - b - c for a, b, c in zip(*(ways[w][1] for w in ("cdp-mcp", "echo floor", "direct HTTP")),
                                                strict=True)]
        wall, cpu = statistics.median(own), statistics.median(own_cpu)
        target = TARGETS[tool]
        print(f"  {tool:22} own overhead {wall:.3f} ms wall, {cpu:.3f} ms CPU (target <= {target} ms, judged on CPU): "
              f"{'ok' if cpu <= target else 'OVER TARGET'}")


async def _profiled(work: Callable[[], Awaitable[Any]], calls: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        await work()
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
    anyio.run(main, numbers[0] if numbers else 10, numbers[1] if len(numbers) > 1 else 200, "--profile" in sys.argv)
