"""The embedded sandbox keeps a fixed number of SQLite connections whatever worker threads come and go.

anyio runs blocking work in worker threads and retires a thread idle for 10 s; a store that opened a
connection per thread leaked one (and its three file descriptors) with every retired thread, so a server left
running for days ran out of descriptors. Here idle threads retire at once (anyio's idle time set to 0), so
every burst of calls runs on new threads: open connections and descriptors must stay flat, and drop to none
when the server stops.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import anyio
import pytest
from anyio._backends._asyncio import WorkerThread
from mcp import Client

from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.sandbox.store import POOL_SIZE, Store
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.helpers import descriptors, worker_threads

pytestmark = [pytest.mark.anyio,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts descriptors in /proc/self/fd")]

BURSTS, CALLS = 4, 12


async def test_bursts_across_worker_thread_retirement_keep_connections_and_descriptors_flat(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WorkerThread, "MAX_IDLE_TIME", 0)  # retire idle workers at the next hop, not after 10 s
    settings = Settings(_env_file=None, state_dir=tmp_path, sandbox_customers=MIN_CUSTOMERS)  # type: ignore[call-arg]
    prefix = str(tmp_path / "sandbox-")
    seen: set[threading.Thread] = set()
    figures: list[tuple[int, int]] = []
    async with Client(build_server(settings)) as client:
        for _ in range(BURSTS):
            async with anyio.create_task_group() as burst:
                for n in range(CALLS):
                    burst.start_soon(client.call_tool, "get_customer_overview", {"gcr_id": n % MIN_CUSTOMERS + 1})
            seen |= worker_threads()
            figures.append(descriptors(prefix))
    after = descriptors(prefix)
    assert len(seen) > 2 * POOL_SIZE, f"the bursts ran on only {len(seen)} threads: retirement was not exercised"
    # At most the pool's connections, each a database file, its WAL and its shared memory (the pool fills lazily, so
    # the count may rise to that bound); every other descriptor flat. The leak added about 100 a burst.
    assert all(0 < on_db <= 3 * POOL_SIZE for on_db, _ in figures), figures
    assert figures[-1][1] - figures[0][1] <= figures[-1][0] - figures[0][0] + 2, figures
    assert after[0] == 0, "connections left open after the server stopped"


def test_threads_borrow_from_a_fixed_pool_that_close_empties(tmp_path: Path) -> None:
    store = Store.open(seed=7, customers=MIN_CUSTOMERS, db_path=tmp_path / "s.sqlite")
    counts: list[int] = []

    def reads() -> None:
        for gcr_id in range(1, MIN_CUSTOMERS + 1):
            store.matches("gcr", gcr_id)
        counts.append(store.open_connections)

    for _ in range(3):  # three generations of short-lived threads, as retired workers are replaced
        threads = [threading.Thread(target=reads) for _ in range(3 * POOL_SIZE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert 0 < max(counts) <= POOL_SIZE
    store.close()
    assert store.open_connections == 0 and descriptors(str(tmp_path / "s.sqlite"))[0] == 0
