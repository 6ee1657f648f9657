"""examples/: each script runs as it is, drives the server over stdio, and says what the server says."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import pytest

from cdp_mcp.commands.inprocess import connect
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.settings import Settings

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def _run(script: str, *args: str) -> tuple[int, str, str]:
    with anyio.fail_after(60):
        done = await anyio.run_process([sys.executable, str(EXAMPLES / script), *args], check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_support_assistant_answers_the_three_questions(cdp_env: dict[str, str], sandbox_settings: Settings,
                                                             showcase: SampleCustomer) -> None:
    async with connect(sandbox_settings) as (client, _):
        consent = (await client.call_tool("get_marketing_consent", {"gcr_id": showcase.gcr_id})).structured_content
        recommended = (await client.call_tool("get_product_recommendations",
                                              {"gcr_id": showcase.gcr_id, "limit": 3})).structured_content
    assert consent is not None and recommended is not None
    code, out, err = await _run("support_assistant.py", f"customer_code={showcase.customer_code}")
    assert code == 0, err
    assert showcase.full_name in out and f"gcr_id {showcase.gcr_id}" in out
    assert "What did they buy lately?" in out
    sms = "sms" in consent["contactable_on"]
    assert ("Yes: opted in to SMS" if sms else "No: not opted in to SMS") in out
    for code in recommended["products"]:
        assert code in out


async def test_support_assistant_relays_an_actionable_error(cdp_env: dict[str, str], ambiguous: SampleCustomer) -> None:
    code, out, err = await _run("support_assistant.py", str(ambiguous.email))
    assert code == 1 and out == ""
    assert "Could not answer" in err and "gcr_id" in err and "Traceback" not in err


async def test_campaign_planner_builds_the_audience_the_server_screens(
    cdp_env: dict[str, str], sandbox_settings: Settings, showcase: SampleCustomer,
) -> None:
    candidates = [{"gcr_id": gcr_id} for gcr_id in range(1, 41)]
    async with connect(sandbox_settings) as (client, _):
        segments = (await client.call_tool("list_customer_segments", {"gcr_id": showcase.gcr_id})).structured_content
        assert segments is not None and segments["segments"]
        segment = next(iter(segments["segments"].values()))["name"]
        screened = (await client.call_tool("screen_customers", {"customers": candidates, "segment_name": segment,
                                                                "channel": "email"})).structured_content
    assert screened is not None
    summary = screened["summary"]
    code, out, err = await _run("campaign_planner.py", "--segment", segment, "--channel", "email",
                                "--customers", "1-40")
    assert code == 0, err
    assert f"Campaign plan: segment {segment!r} on email" in out
    assert f"{summary['in_segment']} in the segment" in out
    assert f"audience of {summary['eligible']}" in out
    assert "Plan:" in out


async def test_audience_planner_screens_an_export_end_to_end(cdp_env: dict[str, str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The README runs it on 5,000 rows of a 10,000-customer sandbox; here the shared small sandbox's 200 rows, with
    the confirmation threshold lowered so the planner is asked first, as it would be for thousands."""
    monkeypatch.setenv("CDP_AUDIENCE_DIR", str(tmp_path / "audiences"))
    monkeypatch.setenv("CDP_SCREEN_CONFIRM_ABOVE", "100")
    (tmp_path / "audiences").mkdir()
    code, out, err = await _run("audience_planner.py", "--rows", "200", "--segment", "High Value", "--channel", "sms")
    assert code == 0, err
    exported = re.search(r"wrote 200 rows of every customer \(([\d,]+) customers", err)
    assert exported is not None, err
    customers = int(exported.group(1).replace(",", ""))
    assert f"Asked: Screening {customers} customers takes about" in out and "Start the screening? -> yes" in out
    assert f"Screening {customers} customers of winback-200.csv in the background (scr_" in out
    assert f"the CSV of the result has {customers} rows" in out
    outcome = re.search(r"Eligible: ([\d,]+)\. Left out: ([\d,]+) not in the segment, ([\d,]+) not opted in to sms, "
                        r"([\d,]+) lapsed, ([\d,]+) not found, ([\d,]+) errors", out)
    assert outcome is not None, out
    assert sum(int(n.replace(",", "")) for n in outcome.groups()) == customers
    assert (tmp_path / "audiences" / "winback-200.csv").is_file()
