"""screen_customers: one row per customer, errors per row, summary counts, progress."""

from __future__ import annotations

import pytest
from tool_results import Connect, data_of, text_of

from cdp_mcp.sandbox.server import SandboxThread

pytestmark = pytest.mark.anyio


def truth(server: SandboxThread, gcr_id: int, segment_id: str) -> tuple[bool, bool]:
    """(in segment, opted in to email) from the sandbox's store; channel 01 is Email (CONTRACT.md)."""
    store = server.sandbox.store
    member = store.scalar("SELECT COUNT(*) FROM segment_members WHERE gcr_id = ? AND segment_id = ?",
                          (gcr_id, segment_id))
    email = store.scalar("SELECT opted_in FROM channel_consents WHERE gcr_id = ? AND channel_id = '01'", (gcr_id,))
    return bool(member), bool(email)


async def test_rows_match_the_store_and_errors_stay_in_their_row(connect: Connect,
                                                                 sandbox_server: SandboxThread) -> None:
    samples = [s for s in sandbox_server.samples if s.gcr_id is not None and not s.hostile]
    segment_id, segment_name = sandbox_server.sandbox.store.query(
        "SELECT s.segment_id, s.name FROM segments s JOIN segment_members m ON m.segment_id = s.segment_id "
        "WHERE m.gcr_id = ?", (samples[0].gcr_id,))[0]
    customers = [{"gcr_id": s.gcr_id} for s in samples]
    customers += [{"email": sandbox_server.sample("ambiguous").email}, {"email": "broken"}]
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with connect() as client:
        by_id = data_of(await client.call_tool("screen_customers", {
            "customers": customers, "segment_id": segment_id, "channel": "email"}, progress_callback=on_progress))
        by_name = data_of(await client.call_tool("screen_customers", {
            "customers": customers, "segment_name": segment_name.upper(), "channel": "email"}))
    assert sorted(progress) == list(range(1, len(customers) + 1))
    for data in (by_id, by_name):
        rows = data["rows"]
        assert [r["index"] for r in rows] == list(range(len(customers)))
        for sample, row in zip(samples, rows, strict=False):
            in_segment, contactable = truth(sandbox_server, sample.gcr_id, segment_id)
            assert (row["gcr_id"], row["in_segment"], row["contactable"]) == (sample.gcr_id, in_segment, contactable)
            assert "error" not in row
            assert row["name"].endswith(sample.full_name) and "customer" not in row  # given as its own gcr_id
        ambiguous, broken = rows[-2:]
        assert "2 customers" in ambiguous["error"] and "in_segment" not in ambiguous
        assert "email" in broken["error"] and broken["customer"] == {"email": "broken"}
        summary = data["summary"]
        assert summary["customers"] == len(customers) and summary["errors"] == 2
        assert summary["eligible"] == sum(1 for r in rows if r.get("in_segment") and r.get("contactable"))
    assert by_id["summary"]["in_segment"] >= 1
    # Each screening names the segment both ways: by its name (what the table shows) and by its id.
    assert (by_id["segment_id"], by_id["segment_name"]) == (segment_id, segment_name)
    assert (by_name["segment_id"], by_name["segment_name"]) == (segment_id, segment_name)  # its own spelling


async def test_a_segment_given_by_id_stays_unnamed_when_nobody_screened_is_in_it_or_segments_are_not_granted(
        connect: Connect, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    elsewhere = sandbox_server.sandbox.store.scalar(
        "SELECT segment_id FROM segments WHERE segment_id NOT IN (SELECT segment_id FROM segment_members "
        "WHERE gcr_id = ?)", (vip.gcr_id,))
    mine = sandbox_server.sandbox.store.scalar("SELECT segment_id FROM segment_members WHERE gcr_id = ?",
                                               (vip.gcr_id,))
    async with connect() as client:
        outside = data_of(await client.call_tool("screen_customers", {
            "customers": [{"gcr_id": vip.gcr_id}], "segment_id": elsewhere, "channel": "email"}))
    async with connect(resources=["basic", "optIn", "isCustomerInSegment", "gcrId"]) as client:
        ungranted = data_of(await client.call_tool("screen_customers", {
            "customers": [{"gcr_id": vip.gcr_id}], "segment_id": mine, "channel": "email"}))
    assert "segment_name" not in outside and outside["segment_id"] == elsewhere
    assert "segment_name" not in ungranted and ungranted["rows"][0]["in_segment"] is True


async def test_hundred_customers_in_one_call(connect: Connect, sandbox_server: SandboxThread) -> None:
    store = sandbox_server.sandbox.store
    segment_id = store.scalar("SELECT segment_id FROM segment_members GROUP BY segment_id ORDER BY COUNT(*) DESC")
    members = store.scalar("SELECT COUNT(*) FROM segment_members WHERE segment_id = ? AND gcr_id <= 100", (segment_id,))
    async with connect() as client:
        data = data_of(await client.call_tool("screen_customers", {
            "customers": [{"gcr_id": n} for n in range(1, 101)], "segment_id": segment_id, "channel": "sms"}))
    assert data["summary"]["customers"] == 100 and data["summary"]["errors"] == 0
    assert data["summary"]["in_segment"] == members
    assert [r["gcr_id"] for r in data["rows"]] == list(range(1, 101))


async def test_segment_name_without_search_segments_is_refused_up_front(connect: Connect) -> None:
    granted = ["basic", "optIn", "isCustomerInSegment"]
    async with connect(resources=granted) as client:
        result = await client.call_tool("screen_customers", {"customers": [{"gcr_id": 1}], "segment_name": "VIP",
                                                             "channel": "sms"})
        by_id = data_of(await client.call_tool("screen_customers", {"customers": [{"gcr_id": 1}],
                                                                    "segment_id": "101", "channel": "sms"}))
    assert result.is_error and "segment_id" in result.content[0].text  # type: ignore[union-attr]
    assert by_id["summary"]["errors"] == 0


async def test_a_segment_name_no_customer_carries_is_said_not_screened_as_empty(connect: Connect,
                                                                                 sandbox_server: SandboxThread) -> None:
    """Not `in_segment: false` for everyone: the name may not exist, and the model is told how to check it."""
    customers = [{"gcr_id": s.gcr_id} for s in sandbox_server.samples if s.gcr_id is not None][:4]
    async with connect() as client:
        missing = await client.call_tool("screen_customers", {"customers": customers, "segment_name": "No Such Segment",
                                                              "channel": "email"})
        partial = await client.call_tool("screen_customers", {"customers": customers, "segment_name": "High",
                                                              "channel": "email"})
    assert missing.is_error and "No segment named 'No Such Segment'" in text_of(missing)
    assert "search_customer_segments" in text_of(missing) and "segment_id" in text_of(missing)
    assert partial.is_error and "High Value" in text_of(partial)  # the names that contain it are suggested
