"""build_server end to end through the SDK Client: both protocol eras, the embedded sandbox, resources, prompts."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client

from cdp_mcp.backend import Backend, EmbeddedSandbox, open_backend
from cdp_mcp.clock import SystemClock
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.server import _CUSTOMER_TEXT, _INSTRUCTIONS, _PAGED, build_server, instructions
from cdp_mcp.settings import Settings
from cdp_mcp.tools.registry import all_specs
from cdp_mcp.tools.untrusted import has_customer_text

pytestmark = pytest.mark.anyio


@pytest.fixture
def loopback_settings(sandbox_server: SandboxThread,
                      tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    state = tmp_path_factory.getbasetemp() / "server-state"

    def make(**overrides: object) -> Settings:
        return Settings(**{"b2b_api_url": sandbox_server.base_url, "tenant_hash": sandbox_server.tenant_hash,
                           "state_dir": state, **overrides})  # type: ignore[arg-type]

    return make


SPECS = {s.name: s for s in all_specs()}
CURSOR_TOOL = next(s for s in all_specs() if any(p.name == "cursor" for p in s.params))
CUSTOMER_TEXT_TOOL = next(s for s in all_specs() if has_customer_text(s.output))


@pytest.mark.parametrize(("needs", "sentence"), _INSTRUCTIONS, ids=lambda v: "+".join(sorted(v)) if
                         isinstance(v, frozenset) else "")
def test_each_instruction_sentence_names_real_tools_and_shows_when_they_are_served(needs: frozenset[str],
                                                                                   sentence: str) -> None:
    tools = needs - {_PAGED, _CUSTOMER_TEXT}
    assert tools <= set(SPECS), f"renamed tools would silently drop this sentence: {tools - set(SPECS)}"
    named = {word for word in re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", sentence) if word in SPECS}
    assert named == tools  # the sentence is shown exactly when the tools it names are served
    surface = [SPECS[name] for name in tools] + ([CURSOR_TOOL] if _PAGED in needs else []) \
        + ([CUSTOMER_TEXT_TOOL] if _CUSTOMER_TEXT in needs else [])
    assert sentence in instructions(surface).split("\n")
    if needs & {_PAGED, _CUSTOMER_TEXT}:  # shown only when a tool it speaks of is served
        quiet = [s for s in all_specs() if not any(p.name == "cursor" for p in s.params)
                 and not has_customer_text(s.output)]
        assert sentence not in instructions(quiet).split("\n")


def test_the_full_surface_gets_every_sentence_but_the_consent_one_screening_supersedes() -> None:
    shown = instructions(all_specs()).split("\n")
    superseded = [text for needs, text in _INSTRUCTIONS if needs == {"get_marketing_consent"}]
    assert len(superseded) == 1 and superseded[0] not in shown
    assert shown == [text for _, text in _INSTRUCTIONS if text not in superseded]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_both_protocol_eras_serve_tools_resources_and_prompts(
    mode: str, sandbox_server: SandboxThread, loopback_settings: Callable[..., Settings],
) -> None:
    settings = loopback_settings()
    vip = sandbox_server.sample("vip")
    server = build_server(settings, backend=lambda: open_backend(settings, clock=sandbox_server.clock))
    async with Client(server, mode=mode) as client:
        if mode == "legacy":  # the whole surface: the overview, paging and screening sentences are all there
            assert client.instructions is not None and "get_customer_overview" in client.instructions
            assert "next_cursor" in client.instructions and "screen_customers" in client.instructions
        assert len((await client.list_tools()).tools) == len(all_specs())
        result = await client.call_tool("get_customer_profile", {"email": vip.email})
        assert not result.is_error and result.structured_content["gcr_id"] == vip.gcr_id
        catalog = json.loads((await client.read_resource("cdp://catalog")).contents[0].text)
        first = {"name": "get_customer_profile", "title": "Customer profile", "resources": ["basic"],
                 "optional_resources": ["gcrId"]}  # the gcr lookup that names the customer, when granted
        assert catalog["tools"][0] == first
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["cdp://customers/{gcr_id}/overview",
                                                       "cdp://screenings/{screening_id}{?cursor,only}",
                                                       "cdp://screenings/{screening_id}/results.csv"]
        card = json.loads((await client.read_resource(f"cdp://customers/{vip.gcr_id}/overview")).contents[0].text)
        assert card["gcr_id"] == vip.gcr_id and "who" in card
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(prompts) == {"customer_brief", "campaign_plan"}
        brief = await client.get_prompt("customer_brief", {"customer": vip.email})
        assert "get_customer_overview" in brief.messages[0].content.text
        plan = await client.get_prompt("campaign_plan", {"segment": "High Value", "channel": "sms"})
        assert "screen_audience" in plan.messages[0].content.text  # any audience size, from the CDP's export


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_both_protocol_eras_report_progress_and_actionable_errors(
    mode: str, sandbox_server: SandboxThread, loopback_settings: Callable[..., Settings],
) -> None:
    settings = loopback_settings()
    server = build_server(settings, backend=lambda: open_backend(settings, clock=sandbox_server.clock))
    progress: list[tuple[float, float | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total))

    customers = [{"gcr_id": s.gcr_id} for s in sandbox_server.samples if s.gcr_id is not None]
    async with Client(server, mode=mode) as client:
        card = await client.call_tool("get_customer_overview", {"gcr_id": customers[0]["gcr_id"]},
                                      progress_callback=on_progress)
        assert not card.is_error and progress and progress[-1][0] == progress[-1][1]
        progress.clear()
        screened = await client.call_tool("screen_customers", {"customers": customers, "segment_name": "High Value",
                                                               "channel": "sms"}, progress_callback=on_progress)
        assert not screened.is_error and sorted(done for done, _ in progress) == list(range(1, len(customers) + 1))
        ambiguous = await client.call_tool("get_customer_profile", {"email": sandbox_server.sample("ambiguous").email})
        bad_cursor = await client.call_tool("list_customer_segments", {"gcr_id": 1, "cursor": "not-a-cursor"})
        missing = await client.call_tool("get_marketing_consent", {})
        out_of_bounds = await client.call_tool("list_customer_segments", {"gcr_id": 1, "limit": 500})
    texts = {name: result.content[0].text for name, result in  # type: ignore[union-attr]
             (("ambiguous", ambiguous), ("cursor", bad_cursor), ("missing", missing), ("bounds", out_of_bounds))}
    assert all(r.is_error and r.structured_content is None
               for r in (ambiguous, bad_cursor, missing, out_of_bounds))
    assert "2 customers" in texts["ambiguous"] and "gcr_id" in texts["ambiguous"]
    assert "omit cursor" in texts["cursor"]
    assert all(name in texts["missing"] for name in ("gcr_id", "email", "mobile", "customer_code"))
    assert "limit" in texts["bounds"] and "100" in texts["bounds"]
    assert not any("Traceback" in text for text in texts.values())


async def test_surface_control_reaches_the_catalog_resource(loopback_settings: Callable[..., Settings],
                                                            sandbox_server: SandboxThread) -> None:
    settings = loopback_settings(tools=["get_marketing_consent", "get_customer_profile"])
    server = build_server(settings, backend=lambda: open_backend(settings, clock=sandbox_server.clock))
    async with Client(server) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["get_customer_profile", "get_marketing_consent"]
        catalog = json.loads((await client.read_resource("cdp://catalog")).contents[0].text)
        assert [t["name"] for t in catalog["tools"]] == ["get_customer_profile", "get_marketing_consent"]
        assert not (await client.list_resource_templates()).resource_templates


async def test_default_backend_runs_the_embedded_sandbox_opened_by_the_first_call(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, sandbox_customers=MIN_CUSTOMERS)
    async with Client(build_server(settings)) as client:
        assert len((await client.list_tools()).tools) == len(all_specs())
        assert not list(tmp_path.glob("sandbox-*.sqlite3"))  # listing the tools waits for no sandbox
        result = await client.call_tool("get_customer_overview", {"gcr_id": 1})  # its sections open it at once
    assert not result.is_error and result.structured_content["gcr_id"] == 1
    assert list(tmp_path.glob("sandbox-*.sqlite3"))  # restarts reuse this database


async def test_a_backend_that_cannot_open_fails_the_call_with_the_reason_and_the_next_call_retries(
    loopback_settings: Callable[..., Settings], sandbox_server: SandboxThread, tmp_path: Path,
) -> None:
    settings = loopback_settings()
    attempts: list[int] = []

    @asynccontextmanager
    async def flaky() -> AsyncIterator[Backend]:
        attempts.append(1)
        if len(attempts) == 1:  # e.g. a state directory that is not writable yet
            raise PermissionError(13, "Permission denied", str(tmp_path / "state"))
        async with open_backend(settings, clock=sandbox_server.clock) as backend:
            yield backend

    async with Client(build_server(settings, backend=flaky)) as client:
        assert len((await client.list_tools()).tools) == len(all_specs()) and not attempts  # listing opens nothing
        failed = await client.call_tool("get_customer_profile", {"gcr_id": 1})
        assert failed.is_error and "Permission denied" in failed.content[0].text
        assert "CDP_STATE_DIR" in failed.content[0].text
        worked = await client.call_tool("get_customer_profile", {"gcr_id": 1})
    assert not worked.is_error and len(attempts) == 2


async def test_serve_opens_the_backend_soon_after_start_without_waiting_for_a_call(
    loopback_settings: Callable[..., Settings], sandbox_server: SandboxThread,
) -> None:
    settings = loopback_settings()
    opened = anyio.Event()

    @asynccontextmanager
    async def recorded() -> AsyncIterator[Backend]:
        async with open_backend(settings, clock=sandbox_server.clock) as backend:
            opened.set()
            yield backend

    async with Client(build_server(settings, backend=recorded, open_after=0.05)) as client:
        await client.list_tools()
        with anyio.fail_after(10):
            await opened.wait()  # the broker's keep-alive runs although nobody called a tool


async def test_once_the_embedded_sandbox_is_open_requests_take_no_lock(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, sandbox_customers=MIN_CUSTOMERS)
    async with AsyncExitStack() as stack:
        sandbox = EmbeddedSandbox(settings, SystemClock(), stack)
        opened = await sandbox.open()
        async with sandbox._lock:  # as while another task opened it: an open sandbox must not wait for that
            with anyio.fail_after(5):
                assert await sandbox.open() is opened
