"""Browser fixtures: one headless chromium (the system's, driven by Playwright's async API), real tool results from
a private loopback sandbox, and a folder for the screenshots every run writes.

The fixtures are module-scoped and every browser test lives in one module, so the browser starts once per run
and the event loop it is bound to ends with that module. The browser tests skip, saying why, only when no
chromium can be had: Playwright missing, or no chromium executable (`CDP_CHROMIUM`, then `chromium` /
`chromium-browser` on PATH, then /usr/bin/chromium).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cases import CARD_LABELS, SCREENED
from mcp import Client

from cdp_mcp.backend import open_backend
from cdp_mcp.catalog import resource
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.tools.tool_transport import RecordingTransport


def chromium_executable() -> str | None:
    """The system chromium: CDP_CHROMIUM, else on PATH, else Debian's /usr/bin/chromium."""
    candidates = [os.environ.get("CDP_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                  "/usr/bin/chromium"]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """One chromium for every browser test (a new page per test keeps them apart)."""
    async_api = pytest.importorskip("playwright.async_api",
                                    reason="Playwright is not installed (pip install -e '.[test]')")
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no chromium to test the MCP Apps views in: apt-get install chromium (or set CDP_CHROMIUM)")
    async with async_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every run writes its screenshots: CDP_SCREENSHOTS, else a fresh temporary folder."""
    chosen = os.environ.get("CDP_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def private_sandbox() -> Iterator[SandboxThread]:
    """A sandbox of the browser tests' own, so their token creations do not count against the shared one's."""
    server = SandboxThread(SandboxOptions()).start()
    try:
        yield server
    finally:
        server.stop()


async def _results(server: SandboxThread, state: Path, jobs: dict[str, tuple[str, dict[str, Any]]], *,
                   transport: RecordingTransport | None = None, **overrides: Any) -> dict[str, Any]:
    """Each job's arguments and result, as a host hands them to a view (content, structuredContent, isError)."""
    settings = Settings(_env_file=None, b2b_api_url=server.base_url,  # type: ignore[call-arg]
                        tenant_hash=server.tenant_hash, state_dir=state, max_retries=0, **overrides)
    mcp = build_server(settings, backend=lambda: open_backend(settings, clock=server.clock, transport=transport))
    out = {}
    async with Client(mcp) as client:
        for key, (tool, arguments) in jobs.items():
            result = await client.call_tool(tool, arguments)
            out[key] = {"arguments": arguments, "result": result.model_dump(mode="json", by_alias=True,
                                                                             exclude_none=True)}
    return out


@pytest.fixture(scope="module")
async def tool_results(private_sandbox: SandboxThread, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Real results: the cards of four sample customers, one whose affinity and trends fail upstream, one ambiguous
    customer (an error), and a screening of 20 customers (two error rows; last purchases from today to never), plus
    one with PII redacted."""
    server, state = private_sandbox, tmp_path_factory.mktemp("browser-state")
    samples = {label: server.sample(label) for label in CARD_LABELS}
    ambiguous = server.sample("ambiguous").email
    segment_id = server.sandbox.store.scalar("SELECT segment_id FROM segment_members GROUP BY segment_id "
                                             "ORDER BY COUNT(*) DESC")
    bought = ("SELECT gcr_id FROM orders GROUP BY gcr_id HAVING MIN(days_ago) = ? AND gcr_id >= ? "
              "ORDER BY gcr_id")  # the table's recency in every wording: today, yesterday, days ago, never
    recent = [server.sandbox.store.scalar(bought, (days, SCREENED)) for days in (0, 1)]
    customers: list[dict[str, Any]] = [{"gcr_id": n} for n in [*range(1, SCREENED - 4), *recent]]
    customers += [{"email": samples["vip"].email}, {"email": ambiguous}, {"email": "nobody@example.invalid"}]
    results = await _results(server, state, {
        **{f"card_{label}": ("get_customer_overview", {"gcr_id": s.gcr_id}) for label, s in samples.items()},
        "ambiguous": ("get_customer_overview", {"email": ambiguous}),
        "screening": ("screen_customers", {"customers": customers, "segment_id": segment_id, "channel": "email"}),
    })
    failing = RecordingTransport(fail=(resource("affinity").route, resource("productPurchaseTrends").route))
    results |= await _results(server, state, {
        "card_partial": ("get_customer_overview", {"gcr_id": samples["vip"].gcr_id})}, transport=failing)
    results |= await _results(server, state, {"screening_redacted": ("screen_customers", {
        "customers": [{"email": samples["vip"].email}, {"gcr_id": samples["lapsed"].gcr_id}],
        "segment_id": segment_id, "channel": "sms"})}, redact_pii=True)
    results |= await _results(server, state, {"audience_small": ("screen_audience", {
        "customers": customers, "segment_id": segment_id, "channel": "email", "recent_days": 90})})
    hostile = [s for s in server.samples if s.hostile]
    results |= await _results(server, state, {
        **{f"hostile_card_{s.label}": ("get_customer_overview", {"gcr_id": s.gcr_id}) for s in hostile},
        "hostile_screening": ("screen_customers", {"customers": [{"gcr_id": s.gcr_id} for s in hostile],
                                                   "segment_id": segment_id, "channel": "email"}),
        "hostile_audience": ("screen_audience", {"customers": [{"gcr_id": s.gcr_id} for s in hostile],
                                                 "segment_id": segment_id, "channel": "email"})})
    results |= await _results(server, state, {
        "card_omitted": ("get_customer_overview", {"gcr_id": hostile[0].gcr_id}),
        "screening_omitted": ("screen_customers", {"customers": [{"gcr_id": s.gcr_id} for s in hostile[:3]],
                                                   "segment_id": segment_id, "channel": "email"}),
        "audience_omitted": ("screen_audience", {"customers": [{"gcr_id": s.gcr_id} for s in hostile[:3]],
                                                 "segment_id": segment_id, "channel": "email"})}, untrusted="omit")
    return results


@pytest.fixture(scope="module")
async def live(private_sandbox: SandboxThread, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    """An SDK client connected to a server on the private sandbox, kept open: a host's link to the MCP server,
    for views that call tools (the screening table follows a running screening)."""
    state = tmp_path_factory.mktemp("live-state")
    settings = Settings(_env_file=None, b2b_api_url=private_sandbox.base_url,  # type: ignore[call-arg]
                        tenant_hash=private_sandbox.tenant_hash, state_dir=state, max_retries=0)
    mcp = build_server(settings, backend=lambda: open_backend(settings, clock=private_sandbox.clock))
    async with Client(mcp) as client:
        yield client
