"""Audience screening at scale, on the sandbox over loopback HTTP (its own process, 10,000 customers). Prints figures.

1. Wall time of a screening job (the job engine in process, CDP_SCREEN_CONCURRENCY 8) against a bare httpx2 client
   issuing the same upstream requests (membership, consent, profile per customer) with the same concurrency, for
   1,000 and 10,000 customers, in alternation, three rounds each (the median; target: <= 1.25x).
2. Token creations a screening costs (target: <= its scopes, whatever the audience size).
3. RSS growth of a fresh process screening 10,000 rows against one screening 1,000 (the audience read from a file,
   target: < 30 MB).
4. Upstream requests of a 10,000-row screening whose server is killed (-9) half way and restarted, against a clean
   run (target: <= 1.05x), counted by a proxy in front of the API; and tasks/get latency (the Tasks extension over
   Streamable HTTP) while the clean run works.

Ratios compare runs made side by side in one invocation; absolute times depend on the machine's load, and on a
shared machine so do the ratios of single rounds (each round's is printed beside the medians'). The CPU time of
this process is printed beside them: when it is about the wall time the client side is the bottleneck, and the
ratio is what cdp-mcp does per request (broker, parsing, deadlines, pacing) beyond a bare POST and `json()`.

    python tests/bench/bench_audience.py [--quick] [--latency MS]
        --quick: 1,000 rows only, one round; for a smoke run
        --latency MS: the wall times only, every request (the job's and the bare client's alike) held MS
                      milliseconds before it is sent, as an API farther than loopback answers
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cdp_mcp.access.audit import AuditTrail  # noqa: E402
from cdp_mcp.access.caller import Caller  # noqa: E402
from cdp_mcp.backend import open_backend  # noqa: E402
from cdp_mcp.catalog import Header, Scope, resource  # noqa: E402
from cdp_mcp.jobs import audience as parsing  # noqa: E402
from cdp_mcp.jobs.model import Checks  # noqa: E402
from cdp_mcp.jobs.service import Intake, Screenings  # noqa: E402
from cdp_mcp.settings import Settings  # noqa: E402
from cdp_mcp.tools.screening import check  # noqa: E402
from tests.faults import FaultProxy, fault_proxy  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.tasks.rawclient import RawClient  # noqa: E402

CUSTOMERS = 10_000
CONCURRENCY = 8
SEGMENT = "101"
LOCAL = Caller("local", None, "stdio", None)
CHECKS = (Scope.IS_CUSTOMER_IN_SEGMENT, Scope.OPT_IN, Scope.BASIC)
LATENCY = 0.0
"""Seconds every upstream request of the wall-time runs is held before it is sent (`--latency`)."""


class Distant(httpx2.AsyncBaseTransport):
    """Real sockets, each request sent `LATENCY` seconds late: an API at a network's distance."""

    def __init__(self) -> None:
        self._sockets = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await anyio.sleep(LATENCY)
        return await self._sockets.handle_async_request(request)

    async def aclose(self) -> None:
        await self._sockets.aclose()


def _transport() -> httpx2.AsyncBaseTransport | None:
    return Distant() if LATENCY else None


@asynccontextmanager
async def sandbox(folder: Path) -> AsyncIterator[tuple[dict[str, Any], Path]]:
    """`cdp-mcp sandbox` in its own process (10,000 customers, its database in `folder`): its description."""
    db = folder / "api.sqlite3"
    process = subprocess.Popen([sys.executable, "-m", "cdp_mcp", "sandbox", "--port", "0", "--customers",
                                str(CUSTOMERS), "--db", str(db), "--json", "--token-daily-limit", "1000"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env())
    try:
        assert process.stdout is not None
        line = await anyio.to_thread.run_sync(process.stdout.readline)
        yield json.loads(line), db
    finally:
        process.terminate()
        process.wait(15)


def _env(**extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CDP_")} | {"CDP_LOG_LEVEL": "WARNING", **extra}


def creations(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM token_ledger WHERE kind = 'create'").fetchone()[0])


async def engine_run(api: dict[str, Any], rows: int, state: Path) -> float:
    """A screening job of `rows` customers by gcr_id, start to finish; seconds."""
    settings = Settings(_env_file=None, b2b_api_url=api["base_url"],  # type: ignore[call-arg]
                        tenant_hash=api["tenant_hash"], state_dir=state, screen_concurrency=CONCURRENCY,
                        log_level="WARNING")
    intake = Intake(parsing.from_customers([{"gcr_id": n} for n in range(1, rows + 1)], max_rows=rows), "bench")
    async with open_backend(settings, transport=_transport()) as backend:

        async def opened() -> Any:
            return backend

        async with Screenings(settings, AuditTrail(None, settings), check, opened).running() as screenings:
            started = time.perf_counter()
            job = await screenings.start(LOCAL, intake, Checks(segment_id=SEGMENT, channel="sms"))
            while (await screenings.find(LOCAL, job.id)).state.active:
                await anyio.sleep(0.02)
            return time.perf_counter() - started


async def bare_run(api: dict[str, Any], rows: int) -> float:
    """The same requests from a bare httpx2 client, CONCURRENCY in flight, tokens made beforehand; seconds."""
    base = api["base_url"]
    tenant = {Header.TENANT_HASH.value: api["tenant_hash"]}
    async with httpx2.AsyncClient(base_url=base, timeout=60, transport=_transport()) as http:
        tokens = {}
        for scope in CHECKS:
            made = await http.post("/secureApi/token/profile/create", headers=tenant,
                                   json={"resource": [str(scope)], "validity": 60})
            tokens[scope] = made.json()["data"]["token"]
        limiter = anyio.CapacityLimiter(CONCURRENCY)

        async def ask(scope: Scope, gcr_id: int) -> None:
            params = {"segmentId": SEGMENT} if scope is Scope.IS_CUSTOMER_IN_SEGMENT else None
            async with limiter:
                answer = await http.post(resource(scope).route, params=params, headers={
                    **tenant, Header.ACCESS_TOKEN.value: tokens[scope], "gcrId": str(gcr_id)})
                answer.raise_for_status()
                answer.json()

        started = time.perf_counter()
        for first in range(1, rows + 1, 100):  # rows start in the same batches as the job's chunks
            async with anyio.create_task_group() as requests:
                for gcr_id in range(first, min(rows, first + 99) + 1):
                    for scope in CHECKS:
                        requests.start_soon(ask, scope, gcr_id)
        return time.perf_counter() - started


async def wall_times(api: dict[str, Any], db: Path, folder: Path, sizes: list[tuple[int, int]]) -> None:
    held = f", every request held {LATENCY * 1000:g} ms" if LATENCY else ""
    print(f"1-2. wall time, job engine vs bare httpx2 (same requests, concurrency 8{held}); token creations")
    for rows, rounds in sizes:
        engine, bare, made, cpu_engine, cpu_bare = [], [], [], [], []
        for index in range(rounds):
            before, cpu = creations(db), time.process_time()
            engine.append(await engine_run(api, rows, folder / f"state-{rows}-{index}"))
            made.append(creations(db) - before)
            cpu_engine.append(time.process_time() - cpu)
            cpu = time.process_time()
            bare.append(await bare_run(api, rows))
            cpu_bare.append(time.process_time() - cpu)
        job, direct = statistics.median(engine), statistics.median(bare)
        each = ", ".join(f"{e / b:.2f}x" for e, b in zip(engine, bare, strict=True))
        print(f"   {rows:>6,} customers: engine {job:6.2f} s, bare {direct:6.2f} s -> {job / direct:.2f}x "
              f"(target <= 1.25x; medians of {rounds} round(s), each round {each}; {3 * rows / job:,.0f} "
              "requests/s)")
        own, plain = statistics.median(cpu_engine), statistics.median(cpu_bare)
        print(f"          CPU of this process (the client side; the API is another process): engine {own:.2f} s, "
              f"bare {plain:.2f} s -> {own / plain:.2f}x, {1000 * (own - plain) / (3 * rows):.3f} ms more a request")
        print(f"          token creations per screening from a fresh state: {made} (scopes: {len(CHECKS)})")


RSS_SCRIPT = """
import anyio, sys, resource, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
import tests.bench.bench_audience as bench
from cdp_mcp.jobs import audience as parsing
from cdp_mcp.jobs.service import Intake

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
async def main():
    api = {{"base_url": {url!r}, "tenant_hash": {tenant!r}}}
    rows = {rows}
    folder = Path(tempfile.mkdtemp())
    export = folder / "audience.csv"
    export.write_text("gcr_id\\n" + "".join(f"{{n}}\\n" for n in range(1, rows + 1)))
    start = rss_mb()
    await bench.engine_file_run(api, export, folder / "state")
    print(f"{{start:.1f}} {{rss_mb():.1f}} {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}}")
anyio.run(main)
"""


async def engine_file_run(api: dict[str, Any], export: Path, state: Path) -> None:
    """A screening of an audience file (read as `audience_file` is), for the RSS figure."""
    settings = Settings(_env_file=None, b2b_api_url=api["base_url"],  # type: ignore[call-arg]
                        tenant_hash=api["tenant_hash"], state_dir=state, screen_concurrency=CONCURRENCY,
                        log_level="WARNING", audience_dir=export.parent)
    async with open_backend(settings) as backend:

        async def opened() -> Any:
            return backend

        async with Screenings(settings, AuditTrail(None, settings), check, opened).running() as screenings:
            intake = await screenings.intake(LOCAL, customers=None, audience_file=export.name, audience_id=None)
            job = await screenings.start(LOCAL, intake, Checks(segment_id=SEGMENT, channel="sms"))
            while (await screenings.find(LOCAL, job.id)).state.active:
                await anyio.sleep(0.05)


async def rss(api: dict[str, Any], sizes: list[int]) -> None:
    print("3. RSS of a fresh process screening an audience file (MB: at start, at the end, peak)")
    peaks = {}
    for rows in sizes:
        script = RSS_SCRIPT.format(root=str(ROOT), url=api["base_url"], tenant=api["tenant_hash"], rows=rows)
        done = await anyio.run_process([sys.executable, "-c", script], check=True)
        start, end, peak = (float(x) for x in done.stdout.decode().split())
        peaks[rows] = peak
        print(f"   {rows:>6,} rows: {start:.1f} -> {end:.1f} MB, peak {peak:.1f} MB")
    if len(sizes) == 2:
        growth = peaks[sizes[1]] - peaks[sizes[0]]
        print(f"   growth from {sizes[0]:,} to {sizes[1]:,} rows: {growth:+.1f} MB of peak RSS (target < 30 MB)")


@asynccontextmanager
async def server(proxy: FaultProxy, state: Path, api: dict[str, Any]) -> AsyncIterator[tuple[str, Any]]:
    """`cdp-mcp serve --transport http` on the proxied API; its MCP URL and process."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "cdp_mcp", "serve", "--transport", "http", "--port",
                                str(port)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               env=_env(CDP_B2B_API_URL=proxy.url, CDP_TENANT_HASH=api["tenant_hash"],
                                        CDP_STATE_DIR=str(state)))
    try:
        deadline = time.monotonic() + 60
        async with httpx2.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx2.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                await anyio.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(15)


def requests_seen(proxy: FaultProxy) -> int:
    return sum(proxy.seen[str(scope)] for scope in CHECKS)


async def screened_as_task(url: str, rows: int, http: httpx2.AsyncClient, *, kill_at: float | None = None,
                           process: Any = None, latencies: list[float] | None = None) -> str:
    client = RawClient(url, http)
    created = (await client.request("tools/call", {"name": "screen_audience", "arguments": {
        "customers": [{"gcr_id": n} for n in range(1, rows + 1)], "segment_id": SEGMENT, "channel": "sms",
        "confirm": True}})).result
    task_id = created["taskId"]
    while True:
        started = time.perf_counter()
        task = (await client.request("tasks/get", {"taskId": task_id})).result
        if latencies is not None and task["status"] == "working":
            latencies.append(time.perf_counter() - started)
        if task["status"] != "working":
            return task_id
        done = int(task["statusMessage"].split(" of ")[0].split()[-1].replace(",", "")) if " of " in task[
            "statusMessage"] else 0
        if kill_at is not None and done >= kill_at * rows:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            return task_id
        await anyio.sleep(0.2)


async def kill_and_latency(api: dict[str, Any], folder: Path, rows: int) -> None:
    print(f"4. upstream requests of a {rows:,}-row screening killed (-9) half way and restarted, vs a clean run; "
          "tasks/get latency while it runs")
    latencies: list[float] = []
    async with fault_proxy(api["base_url"], "/rcdpapi") as proxy, httpx2.AsyncClient(timeout=60) as http:
        async with server(proxy, folder / "clean-state", api) as (url, _):
            await screened_as_task(url, rows, http, latencies=latencies)
        clean = requests_seen(proxy)
        proxy.seen.clear()
        state = folder / "killed-state"
        async with server(proxy, state, api) as (url, process):
            task_id = await screened_as_task(url, rows, http, kill_at=0.5, process=process)
        async with server(proxy, state, api) as (url, _):
            client = RawClient(url, http)
            while (await client.request("tasks/get", {"taskId": task_id})).result["status"] == "working":
                await anyio.sleep(0.2)
        killed = requests_seen(proxy)
    print(f"   clean run {clean:,} requests; killed half way and restarted {killed:,} -> {killed / clean:.3f}x "
          "(target <= 1.05x)")
    ms = sorted(1000 * s for s in latencies)
    print(f"   tasks/get while running: median {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} "
          f"ms over {len(ms)} polls")


async def main(quick: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-audience-"))
    async with sandbox(folder) as (api, db):
        print(f"sandbox: {CUSTOMERS:,} customers over loopback HTTP in its own process ({api['base_url']})")
        sizes = [(1000, 1)] if quick else [(1000, 3), (10_000, 3)]
        await wall_times(api, db, folder, sizes)
        if LATENCY:
            return
        await rss(api, [1000] if quick else [1000, 10_000])
        await kill_and_latency(api, folder, 1000 if quick else 10_000)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--latency" in arguments:
        LATENCY = float(arguments[arguments.index("--latency") + 1]) / 1000
    anyio.run(main, "--quick" in arguments)
