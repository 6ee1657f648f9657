"""A real Prometheus (Debian's `prometheus` package) scrapes a running `cdp-mcp serve --transport http`: the counters
of the calls made reach its query API, and a scrape job without the metrics token is refused (its `up` is 0)."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from cdp_mcp.http_app import METRICS_PATH
from cdp_mcp.sandbox import SampleCustomer
from tests.helpers import free_port, wait_until_answering
from tests.operations.service import clean_environment, server_process

pytestmark = pytest.mark.anyio

PROMETHEUS = shutil.which("prometheus")
_WAIT = 60.0
"""Seconds Prometheus may take to start and to scrape what the test expects (it scrapes every second)."""


@contextmanager
def prometheus(directory: Path, target: str, token: str) -> Iterator[str]:
    """Prometheus scraping `target` every second twice: job `cdp-mcp` with the metrics token, job `no-token`
    without; its HTTP API's base URL."""
    port = free_port()
    config = directory / "prometheus.yml"
    jobs = [{"job_name": "cdp-mcp", "authorization": {"type": "Bearer", "credentials": token}},
            {"job_name": "no-token"}]
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [job | {"metrics_path": METRICS_PATH, "static_configs": [{"targets": [target]}]}
                           for job in jobs]}))
    assert PROMETHEUS is not None
    log = directory / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'tsdb'}",
                                    f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/-/ready", process, log, within=_WAIT)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


Series = dict[frozenset[tuple[str, str]], float]


def query(base: str, promql: str, *, keep: tuple[str, ...] = ()) -> Series:
    """An instant query: each series' labels (job and instance only when kept) and its value."""
    answer = httpx2.get(f"{base}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", answer
    dropped = {"job", "instance", "__name__"} - set(keep)
    return {frozenset((k, v) for k, v in r["metric"].items() if k not in dropped): float(r["value"][1])
            for r in answer["data"]["result"]}


def eventually(base: str, promql: str, expected: Series, *, keep: tuple[str, ...] = ()) -> None:
    """Query until Prometheus has scraped what the test expects (it scrapes every second), or fail showing both."""
    deadline = time.monotonic() + _WAIT
    while (found := query(base, promql, keep=keep)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert found == expected, promql


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (apt-get install prometheus)")
async def test_prometheus_scrapes_the_calls_made(cdp_env: dict[str, str], tmp_path: Path,
                                                  showcase: SampleCustomer) -> None:
    token = secrets.token_urlsafe(24)
    env = clean_environment(**cdp_env, CDP_MCP_METRICS_TOKEN=token)
    with server_process(env, tmp_path, metrics=True) as server:
        async with Client(server.mcp) as client:
            for _ in range(2):
                assert not (await client.call_tool("get_customer_profile", {"email": showcase.email})).is_error
            assert (await client.call_tool("get_customer_profile", {"email": "nobody@example.com"})).is_error
        with prometheus(tmp_path, f"127.0.0.1:{server.metrics_port}", token) as api:
            eventually(api, 'cdp_mcp_tool_calls_total{tool="get_customer_profile"}', {
                frozenset({("tool", "get_customer_profile"), ("outcome", "ok")}): 2.0,
                frozenset({("tool", "get_customer_profile"), ("outcome", "CUSTOMER_NOT_FOUND")}): 1.0})
            # The job without the metrics token is refused (401): Prometheus records the target down.
            eventually(api, "up", {frozenset({("job", "cdp-mcp")}): 1.0, frozenset({("job", "no-token")}): 0.0},
                       keep=("job",))
            (calls,) = query(api, 'cdp_mcp_tool_call_duration_seconds_count{tool="get_customer_profile"}').values()
            assert calls == 3
            (basic,) = query(api, 'cdp_mcp_upstream_requests_total{resource="basic",status="200"}').values()
            assert basic >= 2
            (left,) = query(api, "cdp_mcp_token_creations_left").values()
            (limit,) = query(api, "cdp_mcp_token_creations_limit").values()
            assert limit == 100 and 0 <= left < limit
