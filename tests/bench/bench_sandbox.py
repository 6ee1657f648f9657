"""Benchmark: sandbox seeding time and lookup latency at 1,000 and 100,000 customers.

Run: python tests/bench/bench_sandbox.py [sizes...]   (default: 1000 100000). Prints figures; asserts nothing.
Seeding is measured on a fresh database file (no template cache); lookups go through the ASGI app in
process (httpx2 ASGITransport: routing, token check, identity resolution, query, JSON) and straight to the views.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2

from cdp_mcp.catalog import TOKEN_CREATE_PATH, Header, resource
from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox import SandboxOptions, open_sandbox
from cdp_mcp.sandbox.identity import Lookup
from cdp_mcp.sandbox.identity import resolve as resolve_lookup
from cdp_mcp.sandbox.paging import PageParams
from cdp_mcp.sandbox.resources import VIEWS
from cdp_mcp.sandbox.views import ViewRequest

LOOKUPS = 300
RESOURCES = ("basic", "productPurchased", "segments", "userActivity", "recommendedProducts")


def _stats(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f"median {statistics.median(samples) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


async def bench(customers: int, workdir: Path) -> None:
    options = SandboxOptions(customers=customers, db_path=workdir / f"bench-{customers}.sqlite")
    started, cpu = time.perf_counter(), time.process_time()
    async with open_sandbox(options, clock=ManualClock()) as sandbox:
        seeded, cpu = time.perf_counter() - started, time.process_time() - cpu
        size_mb = options.db_path.stat().st_size / 1e6 if options.db_path else 0
        print(f"\n== {customers:,} customers: seeded in {seeded:.2f} s wall, {cpu:.2f} s CPU ({size_mb:.0f} MB); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        rng = random.Random(1)
        gcrs = [rng.randint(1, customers) for _ in range(LOOKUPS)]
        emails = [r[0] for r in sandbox.store.query("SELECT email FROM customers WHERE email IS NOT NULL AND gcr_id "
                                                    "> 10 ORDER BY (gcr_id * 7919) % 1000003 LIMIT ?", (LOOKUPS,))]
        today = sandbox.clock.now().date()
        page = PageParams(1, 100)
        for name in RESOURCES:
            view = VIEWS[name]
            times = []
            for gcr in gcrs:
                t = time.perf_counter()
                view(ViewRequest(sandbox.store, gcr, today, None, page))
                times.append(time.perf_counter() - t)
            print(f"  store  {name:<20} {_stats(times)}")
        times = []
        for email in emails:
            t = time.perf_counter()
            resolve_lookup(sandbox.store, Lookup((("email", "email_address", email),)))
            times.append(time.perf_counter() - t)
        print(f"  store  {'resolve by email':<20} {_stats(times)}")

        transport = httpx2.ASGITransport(app=sandbox.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox" + options.context_path) as client:
            tenant = {Header.TENANT_HASH: sandbox.tenant_hash}
            created = await client.post(TOKEN_CREATE_PATH, headers=tenant, json={"resource": list(RESOURCES)})
            token = created.json()["data"]["token"]
            for name in RESOURCES:
                times = []
                for gcr, email in zip(gcrs, emails, strict=False):
                    headers = {**tenant, Header.ACCESS_TOKEN: token, "email_address": email} if name == "basic" \
                        else {**tenant, Header.ACCESS_TOKEN: token, "gcrId": str(gcr)}
                    t = time.perf_counter()
                    response = await client.post(resource(name).route, headers=headers)
                    times.append(time.perf_counter() - t)
                    assert response.status_code == 200, response.text
                via = "email" if name == "basic" else "gcrId"
                print(f"  http   {name + ' by ' + via:<20} {_stats(times)}")


async def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="cdp-mcp-bench-") as tmp:
        for size in sizes:
            await bench(size, Path(tmp))


if __name__ == "__main__":
    anyio.run(main, [int(a) for a in sys.argv[1:]] or [1000, 100_000])
