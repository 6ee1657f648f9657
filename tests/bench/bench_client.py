"""Client figures (not a test): loopback latency and throughput of `CdpClient.fetch`, and parse cost alone.

Run: `python tests/bench/bench_client.py`. Serves the default sandbox (1,000 customers) on 127.0.0.1, warms
one token per resource, then makes 20 rounds of every resource for the VIP sample, first one call at a
time, then all at once; finally parses the same responses 200 times without I/O.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from cdp_mcp.catalog import RESOURCES, Header
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.envelopes import unwrap
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.resources import READERS
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.settings import Settings

__all__ = ["main"]

ROUNDS = 20
PARSE_ROUNDS = 200
QUERIES = {"searchSegments": "a", "searchCampaigns": "a", "isCustomerInSegment": "101"}


class _Tokens:
    def __init__(self, api: TokenApiClient) -> None:
        self.api = api
        self.tokens: dict[frozenset[str], str] = {}

    async def acquire(self, resources: frozenset[str]) -> str:
        if resources not in self.tokens:
            self.tokens[resources] = (await self.api.create_token(resources)).token
        return self.tokens[resources]

    async def invalidate(self, resources: frozenset[str], token: str) -> None:
        self.tokens.pop(resources, None)


async def _run(server: SandboxThread) -> None:
    settings = Settings(_env_file=None, b2b_api_url=server.base_url,  # type: ignore[call-arg]
                        tenant_hash=server.tenant_hash)
    who = CustomerIdentity(gcr_id=server.sample("vip").gcr_id)
    async with make_http_client(settings, base_url=server.base_url) as http:
        tokens = _Tokens(TokenApiClient(http, settings))
        client = CdpClient(http, settings, tokens)
        for spec in RESOURCES:
            await client.fetch(spec, who, query=QUERIES.get(spec.name))
        started = time.perf_counter()
        for _ in range(ROUNDS):
            for spec in RESOURCES:
                await client.fetch(spec, who, query=QUERIES.get(spec.name))
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(ROUNDS):
                for spec in RESOURCES:
                    tg.start_soon(lambda s=spec: client.fetch(s, who, query=QUERIES.get(s.name)))
        concurrent = time.perf_counter() - started
        calls = ROUNDS * len(RESOURCES)
        print(f"fetch over loopback: {calls} sequential calls, {sequential / calls * 1000:.1f} ms/call; "
              f"{calls} concurrent calls, {calls / concurrent:.0f} calls/s")
        raw: dict[Any, Any] = {}
        for spec in RESOURCES:
            headers = {Header.ACCESS_TOKEN.value: await tokens.acquire(frozenset({spec.name})),
                       Header.TENANT_HASH.value: server.tenant_hash}
            body = who.wire() if spec.identity_in_body else None
            headers |= {} if spec.identity_in_body else who.wire()
            params = {spec.query_param: QUERIES[spec.name]} if spec.query_param else None
            raw[spec] = (await http.post(spec.route, headers=headers, params=params, json=body)).json()
    started = time.perf_counter()
    for _ in range(PARSE_ROUNDS):
        for spec, payload in raw.items():
            READERS[spec.name].read(spec, unwrap(spec, payload), None)
    parsing = time.perf_counter() - started
    print(f"parse only: {PARSE_ROUNDS * len(raw)} responses, {parsing / (PARSE_ROUNDS * len(raw)) * 1e6:.0f} us each")


def main() -> None:
    with SandboxThread(SandboxOptions(), clock=ManualClock()) as server:
        anyio.run(_run, server)


if __name__ == "__main__":
    main()
