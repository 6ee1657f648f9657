"""No tenant hash and no token in logs (at DEBUG), reprs, exception messages or state file names."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cdp_mcp.broker import FileTokenStore, namespace_for
from cdp_mcp.catalog import Scope
from cdp_mcp.errors import TokenQuotaError
from tests.broker.conftest import OpenRig, fetch, stored_state

pytestmark = pytest.mark.anyio

HUNTER = "hunter2hunter2hunter2hunter2hunt"  # a 32-character tenant hash that must never show


async def test_secrets_never_leak_through_a_busy_day(
    start_sandbox_server: Any, open_rig: OpenRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = start_sandbox_server(tenant_hash=HUNTER, token_daily_limit=3)
    basic = frozenset({Scope.BASIC})
    tokens: set[str] = set()
    async with open_rig(server, token_validity=10) as rig:
        await fetch(rig, Scope.BASIC, server)  # creation
        tokens.add(await rig.broker.acquire(basic))
        server.clock.advance(minutes=8)
        await fetch(rig, Scope.BASIC, server)  # extension
        await server.sandbox.reset_tokens()
        await fetch(rig, Scope.BASIC, server)  # 401, renewal by creation
        tokens.add(await rig.broker.acquire(basic))
        await fetch(rig, Scope.SEGMENTS, server)
        await fetch(rig, Scope.OPT_IN, server)
        with pytest.raises(TokenQuotaError) as refused:  # the API's own 429
            await fetch(rig, Scope.CAMPAIGNS, server)
        tokens.update(r.token for r in (await stored_state(rig, server)).tokens.values())
        allowance = await rig.broker.allowance()
        exc: BaseException | None = refused.value
        texts = [caplog.text, repr(rig.broker), repr(rig.broker.stats), repr(allowance),
                 repr(rig.api), repr(rig.client)]
        while exc is not None:
            texts += [str(exc), repr(exc), getattr(exc, "hint", "") or ""]
            exc = exc.__cause__ or exc.__context__
    assert len(tokens) == 4
    store = FileTokenStore(rig.settings.state.state_dir)
    texts += [repr(store), *(p.name for p in store.directory.iterdir())]
    texts.append(repr(await store.load(namespace_for(server.base_url, HUNTER))))
    blob = "\n".join(texts)
    for secret in (HUNTER, *tokens):
        assert secret not in blob
    assert "hunter2" not in blob
    assert "token create" in caplog.text or "Token created" in caplog.text  # the DEBUG lines were captured
