"""Browser fixtures: one headless chromium for the session (the system's, driven by Playwright), real tool results
from a private loopback sandbox, and a folder for the screenshots every run writes.

The browser tests skip, saying why, only when no chromium can be had: Playwright missing, or no chromium
executable (`CDP_CHROMIUM`, then `chromium` / `chromium-browser` on PATH, then /usr/bin/chromium).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from cdp_mcp.backend import open_backend
from cdp_mcp.catalog import resource
from cdp_mcp.sandbox import SandboxOptions
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.tools.tool_transport import RecordingTransport

CARD_LABELS = ("vip", "lapsed", "opted_out", "no_email")
SCREENED = 20


def chromium_executable() -> str | None:
    """The system chromium: CDP_CHROMIUM, else on PATH, else Debian's /usr/bin/chromium."""
    candidates = [os.environ.get("CDP_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                  "/usr/bin/chromium"]
    return next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One chromium for every browser test (a new page per test keeps them apart)."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed (pip install -e '.[test]')")
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no chromium to test the MCP Apps views in: apt-get install chromium (or set CDP_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every run writes its screenshots: CDP_SCREENSHOTS, else a fresh temporary folder."""
    chosen = os.environ.get("CDP_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


async def _call_all(server: SandboxThread, state: Path) -> dict[str, Any]:
    """The results the views are tested with, as a host receives them (content, structuredContent, isError)."""

    async def calls(transport: RecordingTransport | None, jobs: dict[str, tuple[str, dict[str, Any]]],
                    **overrides: Any) -> dict[str, Any]:
        settings = Settings(_env_file=None, b2b_api_url=server.base_url,  # type: ignore[call-arg]
                            tenant_hash=server.tenant_hash, state_dir=state, max_retries=0, **overrides)
        mcp = build_server(settings, backend=lambda: open_backend(settings, clock=server.clock, transport=transport))
        out = {}
        async with Client(mcp) as client:
            for key, (tool, arguments) in jobs.items():
                result = await client.call_tool(tool, arguments)
                out[key] = {"arguments": arguments,
                            "result": result.model_dump(mode="json", by_alias=True, exclude_none=True)}
        return out

    samples = {label: server.sample(label) for label in CARD_LABELS}
    segment_id = server.sandbox.store.scalar("SELECT segment_id FROM segment_members GROUP BY segment_id "
                                             "ORDER BY COUNT(*) DESC")
    customers: list[dict[str, Any]] = [{"gcr_id": n} for n in range(1, SCREENED - 2)]
    customers += [{"email": samples["vip"].email}, {"email": server.sample("ambiguous").email},
                  {"email": "nobody@example.invalid"}]
    screening = {"customers": customers, "segment_id": segment_id, "channel": "email"}
    results = await calls(None, {
        **{f"card_{label}": ("get_customer_overview", {"gcr_id": s.gcr_id}) for label, s in samples.items()},
        "screening": ("screen_customers", screening),
        "ambiguous": ("get_customer_overview", {"email": server.sample("ambiguous").email}),
    })
    failing = RecordingTransport(fail=(resource("affinity").route, resource("productPurchaseTrends").route))
    results |= await calls(failing, {"card_partial": ("get_customer_overview", {"gcr_id": samples["vip"].gcr_id})})
    results |= await calls(None, {"screening_redacted": ("screen_customers", {
        "customers": [{"email": samples["vip"].email}, {"gcr_id": samples["lapsed"].gcr_id}],
        "segment_id": segment_id, "channel": "sms"})}, redact_pii=True)
    return results


@pytest.fixture(scope="session")
def tool_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Real results from a private sandbox, fetched once on a thread of their own (Playwright's sync API owns this
    thread's event loop)."""
    server = SandboxThread(SandboxOptions()).start()
    try:
        with ThreadPoolExecutor(1) as worker:
            yield worker.submit(anyio.run, _call_all, server, tmp_path_factory.mktemp("browser-state")).result()
    finally:
        server.stop()
