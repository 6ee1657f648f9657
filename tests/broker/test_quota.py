"""The creation ledger at work: a warning at 80%, idle tokens re-scoped near the limit, a refusal at it.

The sandbox's own limit stays high here, so every refusal is the broker's (except in the last test, where the
API refuses first and the broker must remember it).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cdp_mcp.broker.ledger import WINDOW
from cdp_mcp.catalog import Scope
from cdp_mcp.errors import TokenQuotaError
from tests.broker.conftest import OpenRig, fetch, sandbox_counts

pytestmark = pytest.mark.anyio


async def test_the_ledger_warns_then_rescopes_idle_tokens_then_refuses(
    sandbox_server: Any, open_rig: OpenRig, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox_server.reset()
    clock = sandbox_server.clock
    caplog.set_level(logging.WARNING, logger="cdp_mcp.broker")
    first = clock.now()
    async with open_rig(sandbox_server, token_daily_limit=5) as rig:
        for name in (Scope.BASIC, Scope.SEGMENTS, Scope.CAMPAIGNS, Scope.OPT_IN):
            await fetch(rig, name, sandbox_server)
            clock.advance(minutes=1)
        warnings = [r.getMessage() for r in caplog.records  # cdp-mcp's own: a library's warning is not ours
                    if r.levelno == logging.WARNING and r.name.startswith("cdp_mcp.")]
        assert warnings == ["4 of 5 daily token creations used in the last 24 hours"]  # 80% of 5

        await fetch(rig, Scope.AFFINITY, sandbox_server)  # nothing idle yet: the last creation is spent
        assert (await sandbox_counts(sandbox_server))["created_today"] == 5

        clock.advance(minutes=15)  # every token is idle now
        await fetch(rig, Scope.USER_ATTRIBUTES, sandbox_server)  # at the limit: an idle token is re-scoped instead
        await fetch(rig, Scope.BASIC, sandbox_server)  # basic lost its token (least recently used): re-scope another
        counts = await sandbox_counts(sandbox_server)
        assert counts["created_today"] == 5
        assert rig.broker.stats.rescoped == 2
        assert rig.sent("update", 200) == 2

        # whatever holds the five tokens
        live = (Scope.AFFINITY, Scope.USER_ATTRIBUTES, Scope.BASIC, Scope.OPT_IN, Scope.CAMPAIGNS)
        for name in live:
            await fetch(rig, name, sandbox_server)  # all in use: none may be taken
        assert (await sandbox_counts(sandbox_server))["created_today"] == 5
        with pytest.raises(TokenQuotaError) as refused:
            await fetch(rig, Scope.PRODUCT_PURCHASED, sandbox_server)
        assert refused.value.retry_at == first + WINDOW  # when the oldest creation ages out
        assert "CDP_TOKEN_DAILY_LIMIT" in refused.value.hint
        allowance = await rig.broker.allowance()
        assert (allowance.limit, allowance.used, allowance.remaining) == (5, 5, 0)
        assert allowance.next_free_at == refused.value.retry_at
        assert rig.broker.stats.refused == 1
        assert rig.sent("create") == 5

        clock.set(refused.value.retry_at)
        await fetch(rig, Scope.PRODUCT_PURCHASED, sandbox_server)  # the oldest creation aged out: one is possible
        assert rig.broker.stats.created == 6


async def test_segments_token_is_not_rescoped_while_in_use(sandbox_server: Any, open_rig: OpenRig) -> None:
    """Near the limit a token used moments ago stays with its scope; creating is preferred while allowed."""
    sandbox_server.reset()
    async with open_rig(sandbox_server, token_daily_limit=2) as rig:
        await fetch(rig, Scope.SEGMENTS, sandbox_server)
        await fetch(rig, Scope.BASIC, sandbox_server)  # used 1 >= 90% of 2 -> re-scope first, but nothing idle
        await fetch(rig, Scope.SEGMENTS, sandbox_server)
        assert rig.broker.stats.rescoped == 0
        assert rig.sent(Scope.SEGMENTS, 403) == 0
        assert (await sandbox_counts(sandbox_server))["created_today"] == 2


async def test_the_apis_own_refusal_is_mapped_and_remembered(
    start_sandbox_server: Any, open_rig: OpenRig
) -> None:
    server = start_sandbox_server(token_daily_limit=2)
    now = server.clock.now()
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    async with open_rig(server) as rig:  # the broker believes 100 a day
        await fetch(rig, Scope.BASIC, server)
        await fetch(rig, Scope.SEGMENTS, server)
        with pytest.raises(TokenQuotaError) as refused:
            await fetch(rig, Scope.CAMPAIGNS, server)
        assert refused.value.retry_at == midnight  # the sandbox's reset, from its answer
        asked = rig.sent("create")
        with pytest.raises(TokenQuotaError) as again:
            await fetch(rig, Scope.OPT_IN, server)
        assert again.value.retry_at == midnight
        assert rig.sent("create") == asked  # no new attempt before the API's block ends
        assert rig.broker.stats.refused == 2
        allowance = await rig.broker.allowance()
        assert (allowance.remaining, allowance.next_free_at) == (0, midnight)
        await fetch(rig, Scope.BASIC, server)  # live tokens keep serving meanwhile
