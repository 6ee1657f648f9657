"""Team deployment figures: the cost of signing in per call, and 1 vs 2 replicas sharing one Redis.

1. Per-call latency over Streamable HTTP (uvicorn in process, embedded sandbox): no sign-in; OAuth with the
   JWT verified on every request (ES256, keys cached) but audit and rate limit off; OAuth with the defaults
   (audit trail to a file, rate limit in memory).
2. Throughput of `cdp-mcp serve --transport http` replicas (subprocesses) behind a client-side round robin,
   sharing a real redis-server, signed in, calling a loopback sandbox as the B2B API; and the token
   creations the sandbox counted across the replicas.

Needs redis-server on PATH. Prints figures, asserts nothing.

    python tests/bench/bench_team.py [calls] [clients]
"""

from __future__ import annotations

import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cdp_mcp.http_app import create_http_app  # noqa: E402
from cdp_mcp.sandbox.server import bind_socket  # noqa: E402
from cdp_mcp.sandbox.store import Store  # noqa: E402
from cdp_mcp.server import build_server  # noqa: E402
from cdp_mcp.settings import ALGORITHMS, SANDBOX_TENANT_HASH, OAuthConfig, Settings  # noqa: E402  # noqa: E402
from cdp_mcp.sign_in.http_auth import ResourceServer  # noqa: E402
from cdp_mcp.sign_in.keys import IssuerKeys  # noqa: E402
from cdp_mcp.sign_in.verifiers import JwtVerifier  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.team.authserver import AuthServer, SigningKey  # noqa: E402
from tests.team.replicas import replica_env, running_replicas  # noqa: E402

CALL = ("get_customer_profile", {"gcr_id": 1})


def _client(url: str, token: str | None) -> tuple[httpx2.AsyncClient, Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=60)
    return http, Client(streamable_http_client(url, http_client=http))


TEAM_TARGET_MS = 0.15
"""Issue 17: team mode (OAuth + audit + rate limit) adds at most this per call over no sign-in."""


async def bench_sign_in_overhead(state: Path, calls: int, rounds: int = 10) -> None:
    """The three set-ups served side by side, measured in alternation (the first rotates); median round shown.

    CPU time per call is printed beside wall time: client, server and sandbox all run in this process, so it counts
    all of the work and is steadier than wall time on a shared machine."""
    idp = AuthServer().start()
    common: dict[str, Any] = {"state_dir": state, "sandbox_customers": 200, "log_level": "WARNING"}
    variants: dict[str, dict[str, Any]] = {
        "no sign-in": {},
        "OAuth, verify only": {"audit_log": "off", "mcp_rate_limit": 0},
        "OAuth + audit + rate limit": {"audit_log": str(state / "audit.jsonl"), "mcp_rate_limit": 1_000_000},
    }
    figures: dict[str, list[float]] = {label: [] for label in variants}
    cpu: dict[str, list[float]] = {label: [] for label in variants}
    try:
        async with anyio.create_task_group() as tg, AsyncExitStack() as stack:
            servers, clients = [], {}
            for label, extra in variants.items():
                sock = bind_socket("127.0.0.1", 0)
                base = f"http://127.0.0.1:{sock.getsockname()[1]}"
                oauth = {"mcp_oauth_issuer": idp.issuer, "mcp_public_url": base} if extra else {}
                own = {**common, "state_dir": state / f"variant-{len(servers)}"}  # no shared token state
                settings = Settings(**own, **oauth, **extra)
                server = uvicorn.Server(uvicorn.Config(create_http_app(build_server(settings), settings),
                                                       log_config=None, log_level="warning"))
                tg.start_soon(server.serve, [sock])
                while not server.started:
                    await anyio.sleep(0.005)
                servers.append(server)
                idp.audience = f"{base}/mcp"
                http, client = _client(f"{base}/mcp", idp.token() if extra else None)
                await stack.enter_async_context(http)
                clients[label] = await stack.enter_async_context(client)
                await client.call_tool(*CALL)  # warm the token cache and the connection
            order = list(clients.items())
            for round_ in range(rounds):
                for label, client in order[round_ % len(order):] + order[:round_ % len(order)]:  # rotate the start
                    started, used = time.perf_counter(), time.process_time()
                    for _ in range(calls // rounds):
                        assert not (await client.call_tool(*CALL)).is_error
                    figures[label].append((time.perf_counter() - started) * 1000 / (calls // rounds))
                    cpu[label].append((time.process_time() - used) * 1000 / (calls // rounds))
            await stack.aclose()
            for server in servers:
                server.should_exit = True
    finally:
        idp.stop()
    plain, plain_cpu = statistics.median(figures["no sign-in"]), statistics.median(cpu["no sign-in"])
    for label, samples in figures.items():
        ms, cpu_ms = statistics.median(samples), statistics.median(cpu[label])
        extra_ms = "" if label == "no sign-in" else f" ({ms - plain:+.2f} ms; CPU {cpu_ms - plain_cpu:+.2f} ms)"
        print(f"http, {label}: get_customer_profile {ms:.2f} ms/call, CPU {cpu_ms:.2f} ms{extra_ms} "
              f"(median of {rounds} rounds of {calls // rounds} calls)")
    team = [t - p for t, p in zip(figures["OAuth + audit + rate limit"], figures["no sign-in"], strict=True)]
    team_cpu = [t - p for t, p in zip(cpu["OAuth + audit + rate limit"], cpu["no sign-in"], strict=True)]
    added, added_cpu = statistics.median(team), statistics.median(team_cpu)
    print(f"team mode adds {added:.2f} ms/call wall, {added_cpu:.2f} ms CPU (median of the per-round differences; "
          f"target <= {TEAM_TARGET_MS} ms): {'ok' if added <= TEAM_TARGET_MS else 'OVER TARGET'}")


async def bench_verify(repeat: int = 1000) -> None:
    """The verifier alone, keys cached: a token seen for the first time (signature, claims), and seen again."""
    for key in (SigningKey.ec(), SigningKey.rsa()):
        idp = AuthServer(audience="https://cdp.example.com/mcp", keys=[key]).start()
        try:
            config = OAuthConfig(issuer=idp.issuer, resource=idp.audience, audience=idp.audience, jwks_url=None,
                                 introspection=None, algorithms=ALGORITHMS)
            async with httpx2.AsyncClient() as http:
                verifier = JwtVerifier(config, IssuerKeys(idp.issuer, http))
                tokens = [idp.token(sub=f"person-{n}") for n in range(repeat)]
                await verifier.check(idp.token(sub="warm-up"))  # fetch the keys once
                started = time.perf_counter()
                for token in tokens:
                    await verifier.check(token)
                first = (time.perf_counter() - started) * 1e6 / repeat
                started = time.perf_counter()
                for token in tokens:
                    await verifier.check(token)
                again = (time.perf_counter() - started) * 1e6 / repeat
        finally:
            idp.stop()
        print(f"verify a {key.alg} access token: {first:.0f} µs the first time, {again:.0f} µs when seen again")


class _NoContent:
    """An ASGI endpoint that answers 204 at once (a class, so Starlette routes it as an ASGI app)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def bench_sign_in_layer(repeat: int = 5000, rounds: int = 10) -> None:
    """The sign-in layer alone, per request: Starlette's authentication middleware, the SDK's auth context,
    the remembered verdict for the token and the scope check, around an endpoint that answers at once."""
    idp = AuthServer(audience="https://cdp.example.com/mcp").start()
    try:
        settings = Settings(mcp_oauth_issuer=idp.issuer, mcp_public_url="https://cdp.example.com")
        config = settings.sign_in.oauth()
        assert config is not None
        signin = ResourceServer(config)

        ok = _NoContent()

        apps = {"without sign-in": Starlette(routes=[Route("/mcp", ok, methods=["POST"])]),
                "with sign-in": Starlette(routes=[Route("/mcp", signin.guard(ok), methods=["POST"])],
                                          middleware=signin.middleware())}
        headers = [(b"authorization", f"Bearer {idp.token()}".encode())]
        scope = {"type": "http", "method": "POST", "path": "/mcp", "raw_path": b"/mcp", "query_string": b"",
                 "headers": headers, "asgi": {"version": "3.0"}, "scheme": "https", "server": ("x", 443)}
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        samples: dict[str, list[float]] = {label: [] for label in apps}
        for app in apps.values():
            await app(dict(scope), receive, send)  # fetch the keys once
        for _ in range(rounds):  # alternate, so a busy moment of a shared machine hits both alike
            for label, app in apps.items():
                started = time.perf_counter()
                for _ in range(repeat // rounds):
                    await app(dict(scope), receive, send)
                samples[label].append((time.perf_counter() - started) * 1e6 / (repeat // rounds))
        assert set(statuses) == {204}, set(statuses)
        figures = {label: statistics.median(values) for label, values in samples.items()}
        async with signin.running():
            pass
    finally:
        idp.stop()
    print(f"per request, sign-in layer: {figures['with sign-in'] - figures['without sign-in']:.0f} µs "
          f"({figures['without sign-in']:.0f} µs without, {figures['with sign-in']:.0f} µs with; token seen before)")


def _start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH (apt-get install redis-server)")
    port, password = free_port(), secrets.token_hex(16)
    process = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly",
                                "no", "--dir", str(directory), "--requirepass", password],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return process, f"redis://:{password}@127.0.0.1:{port}/0"


async def _throughput(urls: list[str], token: str, clients: int, calls: int) -> float:
    async def one(index: int) -> None:
        http, client = _client(urls[index % len(urls)], token)
        async with http, client:
            for _ in range(calls):
                result = await client.call_tool(*CALL)
                assert not result.is_error, result

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for index in range(clients):
            tg.start_soon(one, index)
    return clients * calls / (time.perf_counter() - started)


def _start_api(directory: Path, db: Path) -> tuple[subprocess.Popen[str], str]:
    """The B2B API in its own process (`cdp-mcp sandbox`), so it does not share a GIL with the clients."""
    process = subprocess.Popen([sys.executable, "-m", "cdp_mcp", "sandbox", "--port", "0", "--customers", "200",
                                "--db", str(db), "--json"], cwd=directory, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    return process, str(info["base_url"])


def _creations(db: Path) -> int:
    store = Store.open(seed=7, customers=200, db_path=db)
    try:
        now = datetime.now(UTC)
        return store.token_counts(SANDBOX_TENANT_HASH, now.date().isoformat(), now.isoformat())["created_today"]
    finally:
        store.close()


async def bench_replicas(directory: Path, calls: int, clients: int) -> None:
    redis, redis_url = _start_redis(directory)
    idp = AuthServer().start()
    try:
        public = f"http://127.0.0.1:{free_port()}"
        idp.audience = f"{public}/mcp"
        token = idp.token("cdp:read")
        for count in (1, 2):
            db = directory / f"api-{count}.sqlite3"
            api, api_url = _start_api(directory, db)
            env = replica_env(api_url=api_url, tenant_hash=SANDBOX_TENANT_HASH, redis_url=redis_url,
                              prefix=f"bench-{secrets.token_hex(4)}", issuer=idp.issuer, public_url=public,
                              CDP_MCP_RATE_LIMIT="0")
            try:
                with running_replicas(count, env, directory / f"run-{count}") as replicas:
                    urls = [r.mcp for r in replicas]
                    await _throughput(urls, token, clients, 2)  # warm-up: connections, first token
                    rate = await _throughput(urls, token, clients, calls)
                    lines = sum(len(r.audit.read_text().splitlines()) for r in replicas)
            finally:
                api.terminate()
                api.wait(15)
            print(f"{count} replica(s): {rate:.0f} calls/s ({clients} clients x {calls} calls, round robin); "
                  f"token creations across replicas: {_creations(db)}; audit lines: {lines}")
    finally:
        idp.stop()
        redis.terminate()
        redis.wait(10)


async def main(calls: int, clients: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await bench_verify()
        await bench_sign_in_layer()
        await bench_sign_in_overhead(Path(tmp), calls)
        await bench_replicas(Path(tmp), calls // 4, clients)


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 200, int(sys.argv[2]) if len(sys.argv) > 2 else 8)
