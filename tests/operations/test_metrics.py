"""GET /metrics: what an operator scrapes, behind its own token, counting calls, upstream requests, tokens, refusals
and audit failures by small fixed label sets, never an identifier or a principal."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from cdp_mcp import metrics
from cdp_mcp.access.guard import INVALID_ARGUMENTS, INVALID_RESOURCE, UNKNOWN_TOOL
from cdp_mcp.catalog import RESOURCE_NAMES
from cdp_mcp.errors import CdpError
from cdp_mcp.http_app import METRICS_PATH, create_http_app, create_metrics_app
from cdp_mcp.resources_and_prompts import RESOURCE_AUDIT_NAMES
from cdp_mcp.sandbox import SampleCustomer, sample_customers
from cdp_mcp.sandbox.server import bind_socket
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.registry import all_specs
from tests.helpers import served_on
from tests.operations.service import Samples, samples
from tests.team.authserver import CLIENT_ID, CLIENT_SECRET, AuthServer

pytestmark = pytest.mark.anyio

METRICS_TOKEN = "metrics-" + secrets.token_urlsafe(24)
MCP_TOKEN = "mcp-" + secrets.token_urlsafe(24)


@asynccontextmanager
async def serving(settings: Settings, **options: Any) -> AsyncIterator[str]:
    """The HTTP app on a free loopback port (with /metrics on it when the settings give a metrics token)."""
    sock = bind_socket("127.0.0.1", 0)
    async with served_on(create_http_app(build_server(settings), settings, **options), sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def scrape(base: str, token: str | None = METRICS_TOKEN) -> Samples:
    async with httpx2.AsyncClient() as http:
        response = await http.get(base + METRICS_PATH, headers={"Authorization": f"Bearer {token}"} if token else {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_a_scrape_counts_calls_upstream_requests_and_tokens_by_fixed_labels(
        sandbox_settings: Settings, showcase: SampleCustomer) -> None:
    settings = sandbox_settings.replace(mcp_metrics_token=METRICS_TOKEN)
    async with serving(settings) as base:
        before = await scrape(base)
        async with Client(f"{base}/mcp") as client:
            found = await client.call_tool("get_customer_profile", {"email": showcase.email})
            missing = await client.call_tool("get_customer_profile", {"email": "nobody.at.all@example.com"})
            screened = await client.call_tool("screen_customers", {
                "segment_id": "SEG-001", "channel": "email",
                "customers": [{"email": s.email} for s in sample_customers()[:4]]})
        after = await scrape(base)
    assert not found.is_error and missing.is_error and not screened.is_error
    call = "cdp_mcp_tool_calls_total"
    assert grew(before, after, call, tool="get_customer_profile", outcome="ok") == 1
    assert grew(before, after, call, tool="get_customer_profile", outcome="CUSTOMER_NOT_FOUND") == 1
    assert grew(before, after, call, tool="screen_customers", outcome="ok") == 1
    assert grew(before, after, "cdp_mcp_tool_call_duration_seconds_count", tool="get_customer_profile") == 2
    assert grew(before, after, "cdp_mcp_upstream_requests_total", resource="basic", status="200") >= 1
    rows = sum(grew(before, after, "cdp_mcp_screening_rows_total", via="screen_customers", outcome=outcome)
               for outcome in ("eligible", "not_in_segment", "not_contactable", "error"))
    assert rows == 4
    # The daily allowance, read from the token state: the figure an operator alerts on.
    limit = value(after, "cdp_mcp_token_creations_limit")
    assert limit == settings.tokens.token_daily_limit
    assert 0 <= value(after, "cdp_mcp_token_creations_left") < limit  # the shared state has spent some
    # Every label is one of a small fixed set: never an identifier, a principal or a URL.
    tools = {s.name for s in all_specs()} | {*RESOURCE_AUDIT_NAMES, "(unknown tool)"}
    codes = ({c.code for c in _error_classes()} | {"ok", "cancelled", INVALID_ARGUMENTS, UNKNOWN_TOOL, INVALID_RESOURCE}
             | set(metrics.ROW_OUTCOMES))
    for (name, labels), _ in after.items():
        for key, label in labels:
            allowed = {"tool": tools, "outcome": codes, "resource": RESOURCE_NAMES | {"token create", "token update"},
                       "operation": {"create", "update"}, "via": set(metrics.SCREENED_BY)}.get(key)
            if allowed is not None:
                assert label in allowed, (name, key, label)
            else:
                assert key in {"status", "le", "event", "version", "implementation", "generation",
                               "major", "minor", "patchlevel"}, (name, key)
                assert key != "status" or label == "error" or label.isdigit(), label


def _error_classes() -> list[type[CdpError]]:
    found, todo = [], [CdpError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return found


async def test_a_scrape_without_the_token_or_with_another_is_refused(sandbox_settings: Settings) -> None:
    settings = sandbox_settings.replace(mcp_metrics_token=METRICS_TOKEN, mcp_auth_token=MCP_TOKEN)
    async with serving(settings) as base, httpx2.AsyncClient() as http:
        bare = await http.get(base + METRICS_PATH)
        wrong = await http.get(base + METRICS_PATH, headers={"Authorization": f"Bearer {MCP_TOKEN}"})
        right = await http.get(base + METRICS_PATH, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        health = await http.get(f"{base}/healthz")
    assert bare.status_code == 401 and bare.headers["www-authenticate"] == 'Bearer realm="cdp-mcp-metrics"'
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert right.status_code == 200 and "cdp_mcp_tool_calls_total" in right.text
    assert health.status_code == 200  # probes need no token


async def test_without_a_metrics_token_or_port_nothing_is_served(sandbox_settings: Settings) -> None:
    async with serving(sandbox_settings) as base, httpx2.AsyncClient() as http:
        assert (await http.get(base + METRICS_PATH)).status_code == 404
    assert create_metrics_app(sandbox_settings) is None


async def test_the_metrics_port_serves_them_and_the_mcp_port_does_not(sandbox_settings: Settings) -> None:
    settings = sandbox_settings.replace(mcp_metrics_port=9464, mcp_metrics_token=METRICS_TOKEN)
    app = create_metrics_app(settings)
    assert app is not None
    sock = bind_socket("127.0.0.1", 0)
    async with serving(settings) as base, served_on(app, sock), httpx2.AsyncClient() as http:
        metrics = f"http://127.0.0.1:{sock.getsockname()[1]}{METRICS_PATH}"
        assert (await http.get(base + METRICS_PATH)).status_code == 404
        assert (await http.get(metrics)).status_code == 401
        assert ("cdp_mcp_rate_limit_refusals_total", frozenset()) in await scrape(metrics.removesuffix(METRICS_PATH))


async def test_with_sign_in_the_scraper_token_never_reaches_the_identity_provider(
        sandbox_settings: Settings, auth_server: AuthServer, tmp_path: Path) -> None:
    """The sign-in middleware never sees /metrics: with introspection on, a scrape sends nothing to the issuer."""
    sock = bind_socket("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    auth_server.audience = f"{base}/mcp"
    settings = sandbox_settings.replace(
        mcp_metrics_token=METRICS_TOKEN, mcp_oauth_issuer=auth_server.issuer, mcp_public_url=base,
        mcp_oauth_introspection_url=f"{auth_server.issuer}/introspect", mcp_oauth_client_id=CLIENT_ID,
        mcp_oauth_client_secret=CLIENT_SECRET, audit_log=str(tmp_path / "audit.jsonl"))
    async with served_on(create_http_app(build_server(settings), settings), sock):
        await scrape(base)
        async with httpx2.AsyncClient() as http:
            assert (await http.get(base + METRICS_PATH)).status_code == 401
    assert auth_server.introspections == 0


async def test_rate_limit_refusals_are_counted(sandbox_settings: Settings, showcase: SampleCustomer) -> None:
    settings = sandbox_settings.replace(mcp_metrics_token=METRICS_TOKEN, mcp_rate_limit=1)
    async with serving(settings) as base:
        before = await scrape(base)
        async with Client(f"{base}/mcp") as client:
            first = await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})
            second = await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})
        after = await scrape(base)
    assert not first.is_error and second.is_error
    assert grew(before, after, "cdp_mcp_rate_limit_refusals_total") == 1
    assert grew(before, after, "cdp_mcp_tool_calls_total", tool="resolve_customer", outcome="CALL_RATE_LIMITED") == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full to fill an audit trail with")
async def test_audit_write_failures_are_counted(sandbox_settings: Settings, showcase: SampleCustomer) -> None:
    """/dev/full accepts the open and refuses every write (ENOSPC): the disk full, as a trail meets it."""
    settings = sandbox_settings.replace(mcp_metrics_token=METRICS_TOKEN, audit_log="/dev/full")
    async with serving(settings) as base:
        before = await scrape(base)
        async with Client(f"{base}/mcp") as client:
            await client.call_tool("resolve_customer", {"gcr_id": showcase.gcr_id})
        after = await scrape(base)
    assert grew(before, after, "cdp_mcp_audit_write_failures_total") == 1


async def test_openmetrics_is_served_when_the_scraper_asks_for_it(sandbox_settings: Settings) -> None:
    settings = sandbox_settings.replace(mcp_metrics_token=METRICS_TOKEN)
    async with serving(settings) as base, httpx2.AsyncClient() as http:
        response = await http.get(base + METRICS_PATH, headers={
            "Authorization": f"Bearer {METRICS_TOKEN}", "Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def _wrapped(settings: Settings) -> Any:
    return create_http_app(build_server(settings), settings)


@pytest.mark.parametrize(("changes", "named"), [
    ({"mcp_metrics_token": "short"}, "CDP_MCP_METRICS_TOKEN is too short"),
    ({"mcp_metrics_token": MCP_TOKEN, "mcp_auth_token": MCP_TOKEN}, "CDP_MCP_METRICS_TOKEN must differ"),
])
def test_a_metrics_token_that_would_not_protect_them_stops_start_up(sandbox_settings: Settings,
                                                                     changes: dict[str, str], named: str) -> None:
    from cdp_mcp.errors import ConfigurationError  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match=named):
        _wrapped(sandbox_settings.replace(**changes))
    assert MCP_TOKEN not in named


async def test_a_call_of_a_tool_not_served_is_counted_without_its_name(sandbox_settings: Settings) -> None:
    """The caller names an unknown tool: counted (as the SDK refused it), under one label, never the made-up name."""
    made_up = "exfiltrate_" + secrets.token_hex(6)
    settings = sandbox_settings.replace(mcp_metrics_token=METRICS_TOKEN, mcp_rate_limit=1000)
    async with serving(settings) as base:
        before = await scrape(base)
        async with Client(f"{base}/mcp") as client:
            assert (await client.call_tool(made_up, {})).is_error
        after = await scrape(base)
        async with httpx2.AsyncClient() as http:
            text = (await http.get(base + METRICS_PATH, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text
    assert grew(before, after, "cdp_mcp_tool_calls_total", tool="(unknown tool)", outcome="UNKNOWN_TOOL") == 1
    assert made_up not in text


async def test_screenings_are_counted_within_the_call_and_by_their_jobs(sandbox_settings: Settings) -> None:
    """screen_audience's rows are counted as it screens them: within the call up to 100, else by the job, which is
    counted as it starts and as it ends on this replica."""
    settings = sandbox_settings.replace(mcp_metrics_token=METRICS_TOKEN)
    checks = {"segment_id": "101", "channel": "sms"}
    async with serving(settings) as base:
        before = await scrape(base)
        async with Client(f"{base}/mcp") as client:
            small = await client.call_tool("screen_audience", {"customers": [{"gcr_id": n} for n in range(1, 6)],
                                                               **checks})
            started = await client.call_tool("screen_audience", {
                "customers": [{"gcr_id": n} for n in range(1, 151)], **checks})
            job = (started.structured_content or {})["screening_id"]
            with anyio.fail_after(60):
                while (await client.call_tool("get_screening", {"screening_id": job})).structured_content[
                        "status"] in ("queued", "running", "paused"):  # type: ignore[index]
                    await anyio.sleep(0.1)
        after = await scrape(base)
    assert not small.is_error and not started.is_error

    def rows(via: str) -> float:
        return sum(grew(before, after, "cdp_mcp_screening_rows_total", via=via, outcome=outcome)
                   for outcome in metrics.ROW_OUTCOMES)

    assert rows("screen_audience") == 5 and rows("job") == 150
    assert grew(before, after, "cdp_mcp_screening_jobs_total", event="started") == 1
    assert grew(before, after, "cdp_mcp_screening_jobs_total", event="completed") == 1
    assert value(after, "cdp_mcp_screening_jobs_running") == 0
