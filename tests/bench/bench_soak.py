"""Soak: 50,000 tool calls on the embedded sandbox, printing memory, descriptors and SQLite connections as it goes.

A server left running for days must not grow: this makes calls about many customers (by gcr_id, and by email so
the gcr lookup and its session cache work too) in concurrent bursts, pauses after every interval long enough for
anyio to retire its idle worker threads (the idle limit is lowered from anyio's 10 s to 1 s so the run takes
minutes, not hours; a retired thread is what used to leak a connection), and prints after each interval: calls,
the resident set size, open file descriptors (all, and those on the sandbox's database files), worker threads
alive and started so far, and ms per call. Flat descriptor columns are the pass mark. Prints figures, asserts nothing.

    python tests/bench/bench_soak.py [calls] [interval]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import anyio
from anyio._backends._asyncio import WorkerThread
from mcp import Client

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cdp_mcp.sandbox import sample_customers  # noqa: E402
from cdp_mcp.server import build_server  # noqa: E402
from cdp_mcp.settings import Settings  # noqa: E402
from tests.helpers import descriptors, worker_threads  # noqa: E402

__all__ = ["main"]

CONCURRENCY = 8
IDLE = 1.0  # seconds a worker thread may idle before anyio retires it (anyio's own is 10)
CUSTOMERS = 1000


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(calls: int, interval: int) -> None:
    WorkerThread.MAX_IDLE_TIME = IDLE
    emails = [s.email for s in sample_customers() if s.email]
    with tempfile.TemporaryDirectory(prefix="cdp-mcp-soak-") as state:
        settings = Settings(_env_file=None, state_dir=Path(state), sandbox_customers=CUSTOMERS,  # type: ignore[call-arg]
                            log_level="WARNING")
        prefix = str(Path(state) / "sandbox-")
        async with Client(build_server(settings)) as client:
            await client.call_tool("get_customer_profile", {"gcr_id": 1})
            print(f"{calls:,} calls in bursts of {CONCURRENCY}, a {IDLE + 0.5:.1f} s pause every {interval:,} "
                  f"(worker threads retire after {IDLE:.0f} s idle)")
            print(f"{'calls':>7} {'RSS MiB':>8} {'fds':>5} {'db fds':>6} {'workers alive':>13} {'started':>7} "
                  f"{'ms/call':>8}")
            seen = worker_threads()
            on_db, every = descriptors(prefix)
            print(f"{0:>7,} {_rss_mib():>8.1f} {every:>5} {on_db:>6} {len(seen):>13} {len(seen):>7}")
            done = 0
            while done < calls:
                started = time.perf_counter()
                for first in range(done, min(done + interval, calls), CONCURRENCY):
                    async with anyio.create_task_group() as burst:
                        for n in range(first, min(first + CONCURRENCY, calls)):
                            arguments = {"email": emails[n % len(emails)]} if n % 10 == 0 else \
                                {"gcr_id": n % CUSTOMERS + 1}
                            burst.start_soon(client.call_tool, "get_customer_profile", arguments)
                    seen |= worker_threads()
                ms = (time.perf_counter() - started) * 1000 / (min(done + interval, calls) - done)
                done = min(done + interval, calls)
                await anyio.sleep(IDLE + 0.5)  # the workers go idle and retire at the next burst
                on_db, every = descriptors(prefix)
                print(f"{done:>7,} {_rss_mib():>8.1f} {every:>5} {on_db:>6} {len(worker_threads()):>13} {len(seen):>7} "
                      f"{ms:>8.2f}")


if __name__ == "__main__":
    if not sys.platform.startswith("linux"):
        raise SystemExit("reads /proc: Linux only")
    for key in [k for k in os.environ if k.startswith("CDP_")]:
        del os.environ[key]
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 50_000, int(sys.argv[2]) if len(sys.argv) > 2 else 5_000)
