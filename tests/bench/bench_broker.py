"""A simulated agent day against the in-process sandbox: token creations, updates and failed calls per strategy.

5,000 data calls over every resource, in bursts of 1-6 concurrent calls spread over 8 simulated hours
(a ManualClock shared by the sandbox and the broker: nothing sleeps), with 10 process restarts (a new HTTP
client and broker on the same state directory). The tenant allows 100 creations a day. Counts of creations
and updates are read on the wire (successful create/update responses), failed calls are calls that raised.

Every broker row runs the way `cdp-mcp serve` runs: with the broker's keep-alive timer (`broker.keep_alive()`,
simulated between calls on the same clock), which extends tokens in use before they expire. Rows: the naive
baseline (a token per call); the broker without persistence (state lost at each restart); the broker under both
policies with the default 600-minute tokens and with 15-minute ones; the API forgetting every token twice (401s,
renewals); an API that counts validity in seconds and states no expiry while the broker assumes minutes (the docs
contradict themselves); a sparse day of 300 calls with 60-minute tokens; and, for comparison only, one row without
the timer (a broker used as a library, not as `serve` runs it).

    python tests/bench/bench_broker.py [--calls 5000] [--hours 8] [--restarts 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import httpx2

from cdp_mcp.broker import FileTokenStore, TokenBroker, namespace_for
from cdp_mcp.catalog import RESOURCES, TOKEN_CREATE_PATH, TOKEN_UPDATE_PATH, Resource
from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.protocols import IssuedToken, TokenApi, TokenSource
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.clock import ManualClock
from cdp_mcp.errors import CdpError
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.runtime import Sandbox, open_sandbox
from cdp_mcp.settings import Settings

__all__ = ["Scenario", "main", "run_day"]

BASE_URL = "http://sandbox.invalid/rcdpapi"
QUERIES = {"segmentName": "a", "campaignName": "a", "segmentId": "1"}


class NaiveTokens:
    """The baseline: a new token for every call (what an OpenAPI-to-MCP generator with a token hook does)."""

    def __init__(self, api: TokenApiClient) -> None:
        self._api = api

    async def acquire(self, resources: frozenset[str]) -> str:
        return (await self._api.create_token(resources)).token

    async def invalidate(self, resources: frozenset[str], token: str) -> None:
        return None


class Unstated:
    """The token API answering with the token only, no expiry (the response shape is OPEN in the docs)."""

    def __init__(self, api: TokenApi) -> None:
        self._api = api

    async def create_token(self, resources: frozenset[str]) -> IssuedToken:
        return IssuedToken(token=(await self._api.create_token(resources)).token, resources=resources)

    async def update_token(self, token: str, resources: frozenset[str]) -> IssuedToken:
        return IssuedToken(token=(await self._api.update_token(token, resources)).token, resources=resources)


@dataclass(frozen=True)
class Scenario:
    label: str
    policy: str | None  # None: the naive baseline
    validity_minutes: int = 600
    persist: bool = True  # False: the state directory is lost at each restart (a broker without persistence)
    api_forgets: int = 0  # times the API forgets every token during the day (its restart): 401s to renew
    calls: int | None = None  # None: the day's default (--calls)
    timer: bool = True  # run the broker's keep-alive timer, as `serve` does (extensions on time between calls)
    api_in_seconds: bool = False  # the API reads "validity" as seconds and states no expiry; the broker assumes minutes


@dataclass
class Row:
    scenario: Scenario
    calls: int = 0
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    wire: Counter[str] = field(default_factory=Counter)
    stats: Counter[str] = field(default_factory=Counter)
    scopes: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Call:
    at: float  # seconds into the day
    resource: Resource
    gcr_id: int


def plan(calls: int, hours: float, seed: int) -> list[list[Call]]:
    """Bursts of 1-6 calls at random moments of the day, sorted by time."""
    rng = random.Random(seed)
    bursts: list[list[Call]] = []
    made = 0
    while made < calls:
        at = rng.uniform(0, hours * 3600)
        size = min(rng.randint(1, 6), calls - made)
        bursts.append([Call(at, rng.choice(RESOURCES), rng.randint(1, 1000)) for _ in range(size)])
        made += size
    return sorted(bursts, key=lambda burst: burst[0].at)


def _label(path: str) -> str:
    if path.endswith(TOKEN_CREATE_PATH):
        return "create"
    if path.endswith(TOKEN_UPDATE_PATH):
        return "update"
    return "data"


async def run_day(scenario: Scenario, bursts: list[list[Call]], restarts: int, work: Path) -> Row:
    row = Row(scenario)
    clock = ManualClock()
    start = clock.now()
    state_root = work / scenario.label.replace(" ", "-")
    options = SandboxOptions(token_daily_limit=100, validity_unit="seconds" if scenario.api_in_seconds else "minutes")
    async with open_sandbox(options, clock=clock) as sandbox:
        lifetimes = restarts + 1
        bounds = [round(i * len(bursts) / lifetimes) for i in range(lifetimes + 1)]
        forget_at = {round(k * len(bursts) / (scenario.api_forgets + 1)) for k in range(1, scenario.api_forgets + 1)}
        began = time.perf_counter()
        for lifetime in range(lifetimes):
            state_dir = state_root / ("shared" if scenario.persist else str(lifetime))
            chunk = bursts[bounds[lifetime]:bounds[lifetime + 1]]
            await _process(scenario, sandbox, clock, start, chunk, state_dir, row, bounds[lifetime], forget_at)
        row.seconds = time.perf_counter() - began
    row.scopes = len({c.resource.name for burst in bursts for c in burst})
    return row


async def _process(scenario: Scenario, sandbox: Sandbox, clock: ManualClock, start: datetime, bursts: list[list[Call]],
                   state_dir: Path, row: Row, offset: int, forget_at: set[int]) -> None:
    """One server process: its own HTTP client and broker, serving its share of the day's calls."""
    settings = Settings(_env_file=None, b2b_api_url=BASE_URL, tenant_hash=sandbox.tenant_hash,  # type: ignore[call-arg]
                        state_dir=state_dir, token_validity=scenario.validity_minutes,
                        token_policy=scenario.policy or "least-privilege", max_retries=0)

    async def count(response: httpx2.Response) -> None:
        if response.status_code == 200:
            row.wire[_label(response.request.url.path)] += 1
        elif response.status_code == 401:
            row.wire["401"] += 1

    transport = httpx2.ASGITransport(app=sandbox.app)
    async with make_http_client(settings, base_url=BASE_URL, transport=transport) as http:
        http.event_hooks["response"].append(count)
        api = TokenApiClient(http, settings, clock=clock)
        broker: TokenBroker | None = None
        tokens: TokenSource
        if scenario.policy is None:
            tokens = NaiveTokens(api)
        else:
            store = FileTokenStore(state_dir)
            token_api: TokenApi = Unstated(api) if scenario.api_in_seconds else api
            broker = TokenBroker(token_api, settings, store=store, clock=clock,
                                 namespace=namespace_for(BASE_URL, sandbox.tenant_hash))
            tokens = broker
            if scenario.timer:
                await broker.load()  # what `keep_alive()` does first
        client = CdpClient(http, settings, tokens, clock=clock)
        for index, burst in enumerate(bursts, start=offset):
            if index in forget_at:
                await sandbox.reset_tokens()  # the API restarts and forgets its tokens (and its day's count)
            at = start + timedelta(seconds=burst[0].at)
            if broker is not None and scenario.timer:
                await _timer_until(broker, clock, at)
            clock.set(at)
            async with anyio.create_task_group() as tg:
                for call in burst:
                    tg.start_soon(_call, client, call, row)
        if broker is not None:
            await broker.aclose()
            row.stats.update(broker.stats.as_dict())


async def _timer_until(broker: TokenBroker, clock: ManualClock, until: datetime) -> None:
    """What `broker.keep_alive()` does in a server between calls, on the simulated clock."""
    while (due := broker.next_extension_at()) is not None and due <= until:
        clock.set(max(due, clock.now()))
        await broker.extend_due()
        if broker.next_extension_at() == due:
            break


async def _call(client: CdpClient, call: Call, row: Row) -> None:
    row.calls += 1
    query = QUERIES[call.resource.query_param] if call.resource.query_param else None
    try:
        await client.fetch(call.resource, CustomerIdentity(gcr_id=call.gcr_id), query=query)
    except CdpError as exc:
        row.failed += 1
        row.failures[exc.code] += 1


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("naive create-per-call", None),
    Scenario("broker, no persistence", "least-privilege", persist=False),
    Scenario("least-privilege", "least-privilege"),
    Scenario("shared", "shared"),
    Scenario("least-privilege 15-min", "least-privilege", validity_minutes=15),
    Scenario("shared 15-min", "shared", validity_minutes=15),
    Scenario("least-privilege, API forgets x2", "least-privilege", api_forgets=2),
    Scenario("l-p, API in seconds, no expiry", "least-privilege", api_in_seconds=True),  # 600 s, not 600 min
    Scenario("naive, sparse 300 calls", None, calls=300),
    Scenario("l-p, sparse 300 calls, 60-min", "least-privilege", validity_minutes=60, calls=300),
    Scenario("shared, sparse, 60-min", "shared", validity_minutes=60, calls=300),
    Scenario("l-p 15-min, no timer (not serve)", "least-privilege", validity_minutes=15, timer=False),
)


def _print(rows: list[Row], out: Callable[[str], object]) -> None:
    head = (f"{'scenario':<32} {'calls':>6} {'failed':>6} {'created':>7} {'updated':>7} {'401s':>5} "
            f"{'reused':>6} {'rescoped':>8} {'renewed':>7} {'scopes':>6} {'secs':>6}")
    out(head)
    out("-" * len(head))
    for row in rows:
        out(f"{row.scenario.label:<32} {row.calls:>6} {row.failed:>6} {row.wire['create']:>7} "
            f"{row.wire['update']:>7} {row.wire['401']:>5} {row.stats['reused']:>6} {row.stats['rescoped']:>8} "
            f"{row.stats['renewed_after_401']:>7} {row.scopes:>6} {row.seconds:>6.1f}")
    for row in rows:
        if row.failures:
            out(f"  {row.scenario.label}: failures by code {dict(row.failures)}")


async def _main(args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="cdp-mcp-bench-") as work:
        for scenario in SCENARIOS:
            bursts = plan(scenario.calls or args.calls, args.hours, args.seed)
            rows.append(await run_day(scenario, bursts, args.restarts, Path(work)))
    print(f"{args.calls} calls (unless stated) in bursts of 1-6 over {args.hours} simulated hours, {args.restarts} "
          f"restarts, daily creation limit 100, seed {args.seed}")
    _print(rows, print)


def main(argv: list[str] | None = None) -> None:
    logging.disable(logging.WARNING)  # the broker's quota warnings are expected here; the table says it all
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    anyio.run(_main, parser.parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
