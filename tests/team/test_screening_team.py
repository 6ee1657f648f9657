"""Screenings in a team deployment (OAuth sign-in, over HTTP): a screening and an uploaded audience belong to the
person who made them (anyone else is told they do not exist), run with that person's grants and redaction, are
capped per person, and leave audit lines for the start, each chunk and the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from cdp_mcp.sandbox import SampleCustomer
from tests.tasks.rawclient import RawClient
from tests.team.authserver import AuthServer
from tests.team.conftest import Served, oauth_app

pytestmark = pytest.mark.anyio


@pytest.fixture
async def served(cdp_env: dict[str, str], auth_server: AuthServer, tmp_path: Path) -> AsyncIterator[Served]:
    shared = tmp_path / "audiences"  # the server's audience folder, holding someone's export
    shared.mkdir()
    (shared / "board-vip.csv").write_text("email\nada@example.com\n")
    async with oauth_app(auth_server, tmp_path / "audit.jsonl",
                         settings={"screen_max_jobs": 1, "audience_dir": shared}) as app:
        yield app


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def _settled(client: Client, screening_id: str) -> dict[str, Any]:
    with anyio.fail_after(60):
        while True:
            data = (await client.call_tool("get_screening", {"screening_id": screening_id})).structured_content or {}
            if data.get("status") not in ("queued", "running", "paused"):
                return data
            await anyio.sleep(0.1)


async def test_screenings_and_audiences_are_their_owners_alone(served: Served, showcase: SampleCustomer) -> None:
    ada, mallory = served.idp.token("cdp:read", sub="ada"), served.idp.token("cdp:read cdp:pii", sub="mallory")
    customers = [{"email": showcase.email}, *({"gcr_id": n} for n in range(2, 131))]
    async with httpx2.AsyncClient(timeout=30) as http:
        upload = await http.post(f"{served.base}/audiences", content=b"gcr_id\n1\n2\n",
                                 headers={"Authorization": f"Bearer {ada}", "Content-Type": "text/csv"})
        anonymous = await http.post(f"{served.base}/audiences", content=b"gcr_id\n1\n")
        marketing = await http.post(f"{served.base}/audiences", content=b"gcr_id\n1\n", headers={
            "Authorization": f"Bearer {served.idp.token('cdp:marketing', sub='eve')}"})
    audience_id = upload.json()["audience_id"]
    async with served.client(ada) as client:
        started = (await client.call_tool("screen_audience", {"customers": customers, "segment_id": "101",
                                                              "channel": "email"})).structured_content or {}
        capped = await client.call_tool("screen_audience", {"customers": customers, "segment_id": "101",
                                                            "channel": "sms"})
        done = await _settled(client, started["screening_id"])
        csv = (await client.read_resource(f"cdp://screenings/{started['screening_id']}/results.csv")).contents[0]
        own = await client.call_tool("screen_audience", {"audience_id": audience_id, "segment_id": "101",
                                                         "channel": "email"})
        folder = [await client.call_tool("screen_audience", {"audience_file": name, "segment_id": "101",
                                                             "channel": "email"})
                  for name in ("board-vip.csv", "missing.csv")]
    async with served.client(mallory) as client:
        theirs = await client.call_tool("get_screening", {"screening_id": started["screening_id"]})
        unknown = await client.call_tool("get_screening", {"screening_id": "scr_" + "B" * 22})
        cancel = await client.call_tool("cancel_screening", {"screening_id": started["screening_id"]})
        audience = await client.call_tool("screen_audience", {"audience_id": audience_id, "segment_id": "101",
                                                              "channel": "email"})
        resource_error = None
        try:
            await client.read_resource(f"cdp://screenings/{started['screening_id']}")
        except Exception as exc:  # noqa: BLE001 - the SDK's error for a failed read
            resource_error = str(exc)
    async with httpx2.AsyncClient(timeout=30) as http:  # the same screening as a task, asked for by mallory
        tasks = RawClient(f"{served.base}/mcp", http, token=mallory)
        foreign = [await tasks.request(method, {"taskId": started["screening_id"]})
                   for method in ("tasks/get", "tasks/update", "tasks/cancel")]
        never = await tasks.request("tasks/get", {"taskId": "scr_" + "B" * 22})
    assert upload.status_code == 201 and anonymous.status_code == 401 and marketing.status_code == 403
    assert capped.is_error and "CDP_SCREEN_MAX_JOBS" in _text(capped) and started["screening_id"] in _text(capped)
    assert done["status"] == "completed" and done["rows"][0]["customer"] == {"email": "[redacted]"}  # no cdp:pii
    assert showcase.email not in str(getattr(csv, "text", ""))
    assert not own.is_error and (own.structured_content or {})["customers"] == 2
    for refused in folder:  # the server's folder is no one person's: in a team, audiences are uploaded
        assert refused.is_error and "POST /audiences" in _text(refused) and "board-vip" not in _text(refused)
    assert theirs.is_error and unknown.is_error and cancel.is_error and audience.is_error
    assert _text(theirs).replace(started["screening_id"], "X") == _text(unknown).replace("scr_" + "B" * 22, "X")
    assert resource_error is not None and "No screening" in resource_error
    unknown_task = never.error["message"].replace("scr_" + "B" * 22, "X")
    assert [(a.error["code"], a.error["message"].replace(started["screening_id"], "X")) for a in foreign] == [
        (-32602, unknown_task)] * 3
    lines = [line for line in served.audit_lines() if line.get("screening_id") == started["screening_id"]]
    assert [line["event"] for line in lines] == ["start", "chunk", "chunk", "finish"]
    assert {line["principal"] for line in lines} == {"ada"}
    assert lines[1]["identifiers"][0].keys() == {"email"} and showcase.email not in served.audit.read_text()
    uploads = [line for line in served.audit_lines() if line["tool"] == "audience_upload"]
    assert [(u["principal"], u["audience_id"], u["rows"]) for u in uploads] == [("ada", audience_id, 2)]
