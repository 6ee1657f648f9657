"""Transport figures: start-up and per-call latency over stdio (subprocess) and Streamable HTTP (uvicorn).

Runs on a small embedded sandbox in a temporary state directory; prints figures, asserts nothing.

    python tests/bench/bench_transports.py [calls]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import anyio
import uvicorn
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from cdp_mcp.http_app import create_http_app
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings

CUSTOMERS = "200"


async def _calls(client: Client, calls: int) -> float:
    await client.call_tool("get_customer_profile", {"gcr_id": 1})  # warm the token cache
    started = time.perf_counter()
    for _ in range(calls):
        await client.call_tool("get_customer_profile", {"gcr_id": 1})
    return (time.perf_counter() - started) * 1000 / calls


async def bench_stdio(state: Path, calls: int) -> None:
    env = {"CDP_STATE_DIR": str(state), "CDP_SANDBOX_CUSTOMERS": CUSTOMERS, "CDP_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    async with Client(StdioServerParameters(command=sys.executable, args=["-m", "cdp_mcp"], env=env)) as client:
        connected = time.perf_counter() - started
        per_call = await _calls(client, calls)
    print(f"stdio: spawn + connect {connected:.2f} s, get_customer_profile {per_call:.1f} ms/call ({calls} calls)")


async def bench_http(state: Path, calls: int) -> None:
    settings = Settings(state_dir=state, sandbox_customers=int(CUSTOMERS), log_level="WARNING")
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_http_app(build_server(settings), settings), log_config=None,
                                           log_level="warning"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:
            await anyio.sleep(0.005)
        for mode in ("auto", "legacy"):
            async with Client(f"http://127.0.0.1:{sock.getsockname()[1]}/mcp", mode=mode) as client:
                per_call = await _calls(client, calls)
            print(f"http ({mode}): get_customer_profile {per_call:.1f} ms/call ({calls} calls)")
        server.should_exit = True
    sock.close()


async def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as state:
        await bench_stdio(Path(state), calls)
        await bench_http(Path(state), calls)


if __name__ == "__main__":
    for key in [k for k in os.environ if k.startswith("CDP_")]:
        del os.environ[key]
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 100)
