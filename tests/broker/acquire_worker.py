"""A second process for the cross-process test: acquires tokens through its own broker on a shared state dir.

Run as `python acquire_worker.py STATE_DIR BASE_URL NOW_ISO SCOPE [SCOPE...]` with the tenant hash in
`CDP_TENANT_HASH`; prints the broker's stats as JSON on stdout. Each SCOPE is comma-separated resources,
acquired 20 times concurrently.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import anyio

from cdp_mcp.broker import TokenBroker
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.clock import ManualClock
from cdp_mcp.settings import Settings

__all__ = ["main"]


async def _run(state_dir: Path, base_url: str, now: datetime, scopes: list[frozenset[str]]) -> dict[str, int]:
    settings = Settings(_env_file=None, b2b_api_url=base_url, state_dir=state_dir)  # type: ignore[call-arg]
    clock = ManualClock(now)
    async with make_http_client(settings, base_url=base_url) as http:
        broker = TokenBroker.for_settings(TokenApiClient(http, settings, clock=clock), settings,
                                          base_url=base_url, clock=clock)
        async with anyio.create_task_group() as tg:
            for scope in scopes:
                for _ in range(20):
                    tg.start_soon(broker.acquire, scope)
        await broker.aclose()
        return broker.stats.as_dict()


def main(argv: list[str]) -> None:
    state_dir, base_url, now, *scopes = argv
    stats = anyio.run(_run, Path(state_dir), base_url, datetime.fromisoformat(now),
                      [frozenset(s.split(",")) for s in scopes])
    sys.stdout.write(json.dumps(stats) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
