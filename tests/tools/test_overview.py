"""get_customer_overview: one card, sections fetched concurrently, partial failure reported in the card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tool_results import Connect, data_of, text_of
from tool_transport import RecordingTransport

from cdp_mcp.catalog import RESOURCE_NAMES, resource
from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.tools.params import SECTIONS

pytestmark = pytest.mark.anyio

CARD_BUDGET = 6 * 1024


async def test_full_card_for_a_sample_customer(connect: Connect, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    segments = sandbox_server.sandbox.store.scalar("SELECT COUNT(*) FROM segment_members WHERE gcr_id = ?",
                                                    (vip.gcr_id,))
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with connect() as client:
        result = await client.call_tool("get_customer_overview", {"email": vip.email}, progress_callback=on_progress)
    card = data_of(result)
    assert card["gcr_id"] == vip.gcr_id
    assert set(SECTIONS) <= set(card) and "unavailable" not in card
    assert card["who"]["name"].endswith(vip.full_name)
    assert card["value"]["days_since_last_purchase"] >= 0 and len(card["value"]["trend"]) == 3
    assert card["segments"]["total"] == segments
    assert set(card["consent"]) == {"email", "sms", "push", "whatsapp"}
    assert 0 < len(card["recommendations"]) <= 3
    assert len(text_of(result).encode()) < CARD_BUDGET
    assert [p[0] for p in progress] == list(range(1, 7)) and {p[1] for p in progress} == {6}


async def test_include_fetches_only_what_the_sections_need(connect: Connect, sandbox_server: SandboxThread) -> None:
    transport = RecordingTransport()
    async with connect(transport=transport) as client:
        card = data_of(await client.call_tool("get_customer_overview",
                                               {"gcr_id": sandbox_server.sample("vip").gcr_id, "include": ["consent"]}))
    assert set(card) == {"gcr_id", "consent"}
    data_paths = [p for p in transport.paths if "/profile/b2b/" in p]
    assert data_paths and all(p.endswith(resource("optIn").route) for p in data_paths)


async def test_a_failing_section_is_reported_while_the_rest_returns(connect: Connect,
                                                                   sandbox_server: SandboxThread) -> None:
    transport = RecordingTransport(fail=(resource("affinity").route, resource("productPurchaseTrends").route))
    async with connect(transport=transport) as client:
        card = data_of(await client.call_tool("get_customer_overview", {"gcr_id": sandbox_server.sample("vip").gcr_id}))
    assert "affinities" not in card and "not reachable" in card["unavailable"]["affinities"]
    assert "value.trend" in card["unavailable"] and "trend" not in card["value"]
    assert {"who", "segments", "consent", "recommendations"} <= set(card)
    assert all("down for the test" not in reason for reason in card["unavailable"].values())  # no upstream body


async def test_spent_token_allowance_marks_sections_unavailable(
    connect: Connect, start_sandbox_server: Callable[..., SandboxThread], tmp_path: Path,
) -> None:
    private = start_sandbox_server(token_daily_limit=3)
    async with connect(server=private, state_dir=tmp_path, token_daily_limit=3) as client:
        card = data_of(await client.call_tool("get_customer_overview", {"gcr_id": private.sample("regular").gcr_id}))
    missing = card.get("unavailable", {})
    present = [s for s in SECTIONS if s in card]
    assert present and missing, card
    assert all("possible again" in reason for reason in missing.values())


async def test_resources_not_granted_are_not_fetched(connect: Connect, sandbox_server: SandboxThread) -> None:
    transport = RecordingTransport()
    granted = sorted(RESOURCE_NAMES - {"affinity", "recommendedProducts"})
    async with connect(transport=transport, resources=granted) as client:
        card = data_of(await client.call_tool("get_customer_overview", {"gcr_id": sandbox_server.sample("vip").gcr_id}))
    assert set(card["unavailable"]) == {"affinities", "recommendations"}
    assert "CDP_RESOURCES" in card["unavailable"]["affinities"]
    refused = (resource("affinity").route, resource("recommendedProducts").route)
    assert not [p for p in transport.paths if p.endswith(refused)]


async def test_ambiguous_customer_fails_the_whole_call(connect: Connect, sandbox_server: SandboxThread) -> None:
    async with connect() as client:
        result = await client.call_tool("get_customer_overview", {"email": sandbox_server.sample("ambiguous").email})
    assert result.is_error and "gcr_id" in text_of(result)


async def test_a_failing_profile_still_leaves_a_card_that_names_the_customer(
    connect: Connect, sandbox_server: SandboxThread,
) -> None:
    vip = sandbox_server.sample("vip")
    transport = RecordingTransport(fail=(resource("basic").route,))
    async with connect(transport=transport) as client:
        card = data_of(await client.call_tool("get_customer_overview", {"email": vip.email}))
    assert {"who", "value"} <= set(card["unavailable"]) and "consent" in card
    assert card["gcr_id"] == vip.gcr_id


def _direction(first: float, last: float) -> str:
    return "up" if last > first * 1.05 else "down" if last < first * 0.95 else "flat"


async def test_a_month_in_progress_is_never_called_down_against_whole_months(
        connect: Connect, start_sandbox_server: Callable[..., SandboxThread], tmp_path: Path) -> None:
    """Three days into November, November's sales are three days' worth: the trend compares whole months only, and
    the card says which month is to date."""
    server = start_sandbox_server(customers=50, clock=ManualClock(datetime(2026, 11, 3, 9, 0, tzinfo=UTC)))
    async with connect(server=server, state_dir=tmp_path) as client:
        cards = [data_of(await client.call_tool("get_customer_overview", {"gcr_id": gcr_id, "include": ["value"]}))
                 for gcr_id in range(1, 31)]
    partial_would_say_down = 0
    for card in cards:
        value = card["value"]
        months = list(value["trend"])
        assert months[-1] == "2026-11" and value["month_to_date"] == "2026-11", value
        first, whole, partial = (value["trend"][m]["sales"] for m in months)
        if first:
            assert value["trend_direction"] == _direction(first, whole), value  # October against September
            partial_would_say_down += _direction(first, partial) == "down" != value["trend_direction"]
    assert partial_would_say_down > 0  # customers a month-to-date comparison would have called "down"
