"""The keep-alive loop as the server's lifespan runs it: on time, free of creations, never spinning, cancellable,
and never a crash that would take the server down. Real waits are a few milliseconds (`max_wait`)."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from cdp_mcp.catalog import Scope
from tests.broker.conftest import OpenRig, fetch, sandbox_counts

pytestmark = pytest.mark.anyio

TICK = 0.005  # seconds: the loop's longest real wait in these tests


async def _until(condition: Any) -> None:
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(TICK)


async def test_keep_alive_extends_on_time_without_calls_then_stops_when_cancelled(
    sandbox_server: Any, open_rig: OpenRig
) -> None:
    sandbox_server.reset()
    clock = sandbox_server.clock
    async with open_rig(sandbox_server, token_validity=10) as rig:
        await fetch(rig, Scope.SEGMENTS, sandbox_server)
    async with open_rig(sandbox_server, token_validity=10) as rig:  # a restarted server, no call yet
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(rig.broker.keep_alive, max_wait=TICK))
            await _until(lambda: rig.broker.next_extension_at() is not None)  # it read the persisted state
            due = rig.broker.next_extension_at()
            assert due is not None and due > clock.now()
            await anyio.sleep(10 * TICK)
            assert (await sandbox_counts(sandbox_server))["updated_today"] == 0  # not before its time
            clock.set(due)
            await _until(lambda: rig.broker.stats.updated == 1)
            await anyio.sleep(10 * TICK)  # the clock stands still: no more requests, however often it looks
            tg.cancel_scope.cancel()
        counts = await sandbox_counts(sandbox_server)
        assert (counts["created_today"], counts["updated_today"]) == (1, 1)
        next_due = rig.broker.next_extension_at()
        assert next_due is not None and next_due > due
        clock.advance(minutes=9)  # past the original token's computed life: only the extension keeps it
        with anyio.fail_after(5):  # the cancelled loop left no lock behind
            await fetch(rig, Scope.SEGMENTS, sandbox_server)
        counts = await sandbox_counts(sandbox_server)
    assert counts["created_today"] == 1
    assert rig.sent(Scope.SEGMENTS, 401) == 0


async def test_keep_alive_survives_an_unusable_state_dir(
    sandbox_server: Any, open_rig: OpenRig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The lifespan runs keep_alive in its task group: an exception there would stop the whole server."""
    sandbox_server.reset()
    not_a_dir = tmp_path / "occupied"
    not_a_dir.write_text("")
    caplog.set_level(logging.WARNING, logger="cdp_mcp.broker")
    async with open_rig(sandbox_server, state_dir=not_a_dir) as rig, anyio.create_task_group() as tg:
        tg.start_soon(partial(rig.broker.keep_alive, max_wait=TICK))
        await _until(lambda: any("Keep-alive" in r.getMessage() for r in caplog.records))
        await anyio.sleep(5 * TICK)
        tg.cancel_scope.cancel()
    assert rig.sent("create") == 0
