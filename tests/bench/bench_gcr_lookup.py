"""The cost of learning gcr_id with the gcr lookup (the documented `basic` carries none). Prints figures only.

The MCP server (in process, official SDK client) talks to the default sandbox over loopback HTTP through a
counting transport. For the same customers, `get_customer_profile` is called by gcr_id (no lookup needed: the
cost of every call before the change), by email in a fresh session (one gcr lookup in parallel with the
profile), and by email again (the session cache answers); then `screen_customers` by gcr_id and by email.
Figures are per call (median time, mean requests), from one run, so the ratios compare like with like; the
request counts are exact, the times vary with the machine's load.

    python tests/bench/bench_gcr_lookup.py [customers]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client

from cdp_mcp.backend import open_backend
from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings

__all__ = ["main"]


class Counting(httpx2.AsyncBaseTransport):
    """Real loopback HTTP, counting requests by the last path segment."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.seen: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen[request.url.path.rsplit("/", 1)[-1]] += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _session(server: SandboxThread, state: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Run `calls` in one fresh MCP session; a line per group of calls (same tool and identifier kind)."""
    settings = Settings(_env_file=None, b2b_api_url=server.base_url,  # type: ignore[call-arg]
                        tenant_hash=server.tenant_hash, state_dir=state, log_level="WARNING")
    counting = Counting()
    mcp = build_server(settings, backend=lambda: open_backend(settings, clock=server.clock, transport=counting))
    lines = []
    async with Client(mcp) as client:
        await client.call_tool("get_customer_profile", {"gcr_id": 1})  # tokens for basic and gcr held
        await client.call_tool("resolve_customer", {"email": "ada.lovelace@example.com"})
        for label, group in _groups(calls):
            counting.seen.clear()
            times = []
            for tool, args in group:
                started = time.perf_counter()
                result = await client.call_tool(tool, args)
                times.append((time.perf_counter() - started) * 1000)
                assert not result.is_error, result.content
            requests = sum(v for k, v in counting.seen.items() if k not in ("create", "update")) / len(group)
            lines.append(f"{label:<46} median {statistics.median(times):6.1f} ms/call  "
                         f"{requests:5.1f} upstream requests/call")
    return lines


def _groups(calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for tool, args in calls:
        label = args.pop("_label")
        groups.setdefault(label, []).append((tool, args))
    return list(groups.items())


async def _run(server: SandboxThread, customers: int) -> None:
    rows = server.sandbox.store.query("SELECT gcr_id, email FROM customers WHERE email IS NOT NULL AND gcr_id > 10 "
                                      "ORDER BY gcr_id LIMIT ?", (customers,))
    with tempfile.TemporaryDirectory() as state:
        profile = [("get_customer_profile", {"gcr_id": g, "_label": "profile by gcr_id"}) for g, _ in rows]
        profile += [("get_customer_profile", {"email": e, "_label": "profile by email, new in the session"})
                    for _, e in rows]
        profile += [("get_customer_profile", {"email": e, "_label": "profile by email, cached gcr_id"})
                    for _, e in rows]
        for line in await _session(server, Path(state), profile):
            print(line)
        batch = 50
        screen = [("screen_customers", {"customers": [{"gcr_id": g} for g, _ in rows[i:i + batch]],
                                        "segment_id": "101", "channel": "email",
                                        "_label": f"screen_customers by gcr_id ({batch} per call)"})
                  for i in range(0, len(rows), batch)]
        screen += [("screen_customers", {"customers": [{"email": e} for _, e in rows[i:i + batch]],
                                         "segment_id": "101", "channel": "email",
                                         "_label": f"screen_customers by email ({batch} per call)"})
                   for i in range(0, len(rows), batch)]
        for line in await _session(server, Path(state), screen):
            print(line)


def main(customers: int) -> None:
    with SandboxThread(SandboxOptions(), clock=ManualClock()) as server:
        anyio.run(_run, server, customers)


if __name__ == "__main__":
    for key in [k for k in os.environ if k.startswith("CDP_")]:
        del os.environ[key]
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
