"""Computed expiry when the server states none: a misconfigured validity unit must not cost a creation per
token lifetime. The sandbox runs in seconds while the broker assumes the default minutes."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cdp_mcp.catalog import Scope, resource
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.protocols import IssuedToken, TokenApi
from tests.broker.conftest import OpenRig, another_broker, sandbox_counts, stored_state

pytestmark = pytest.mark.anyio

SCOPES = (Scope.BASIC, Scope.SEGMENTS)


class Unstated:
    """The real token API over HTTP, answering like an API whose responses state no expiry (the docs leave
    it open): only the token string comes back."""

    def __init__(self, api: TokenApi) -> None:
        self._api = api

    async def create_token(self, resources: frozenset[str]) -> IssuedToken:
        issued = await self._api.create_token(resources)
        return IssuedToken(token=issued.token, resources=issued.resources)

    async def update_token(self, token: str, resources: frozenset[str]) -> IssuedToken:
        issued = await self._api.update_token(token, resources)
        return IssuedToken(token=issued.token, resources=issued.resources)


async def test_tokens_dying_sooner_than_assumed_teach_the_broker_their_real_life(
    start_sandbox_server: Any, open_rig: OpenRig, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_sandbox_server(validity_unit="seconds")  # "validity": 600 means ten minutes, not ten hours
    caplog.set_level(logging.WARNING, logger="cdp_mcp.broker")
    async with open_rig(server) as rig:
        broker = another_broker(rig, server, api=Unstated(rig.api))
        client = CdpClient(rig.http, rig.settings, broker, clock=server.clock)
        who = CustomerIdentity(gcr_id=server.samples[0].gcr_id)
        for _ in range(30):  # two hours, both scopes every four minutes
            for name in SCOPES:
                await client.fetch(resource(name), who)
            server.clock.advance(minutes=4)
        await broker.aclose()
        state = await stored_state(rig, server)
        counts = await sandbox_counts(server)
    assert sum(rig.sent(name, 200) for name in SCOPES) == 60  # no call failed
    assert counts["created_today"] == 2 * len(SCOPES)  # each scope's first token died once; never again
    assert state.learned_validity is not None and 600 <= state.learned_validity < 36000
    assert "CDP_TOKEN_VALIDITY_UNIT" in caplog.text
