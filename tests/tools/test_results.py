"""Results: PII redaction applied everywhere, and crashes that reveal nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from tool_results import Connect, data_of, text_of

from cdp_mcp.backend import Backend
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.registry import all_specs
from cdp_mcp.tools.shaping import REDACTED, redact

pytestmark = pytest.mark.anyio

SECRET = "hunter2-tenant-secret"


def sample_arguments(spec_name: str, email: str, screening_id: str) -> dict[str, Any]:
    extra = {"search_customer_segments": {"segment_name": "a"}, "search_customer_campaigns": {"campaign_name": "a"},
             "check_customer_in_segment": {"segment_id": "101"}}
    if spec_name in ("screen_customers", "screen_audience"):
        return {"customers": [{"email": email}], "segment_name": "High Value", "channel": "email"}
    if spec_name in ("get_screening", "cancel_screening"):
        return {"screening_id": screening_id}
    return {"email": email, **extra.get(spec_name, {})}


async def finished_screening(client: Client, email: str) -> str:
    """The id of a screening (in the background: 101 rows, the first named by `email`) that has finished."""
    customers = [{"email": email}, *({"gcr_id": n} for n in range(2, 102))]
    started = data_of(await client.call_tool("screen_audience", {"customers": customers, "segment_id": "101",
                                                                 "channel": "email"}))
    with anyio.fail_after(60):
        while data_of(await client.call_tool("get_screening", {"screening_id": started["screening_id"]}))[
                "status"] != "completed":
            await anyio.sleep(0.1)
    return str(started["screening_id"])


async def test_redaction_masks_personal_data_in_every_tool(connect: Connect, sandbox_server: SandboxThread) -> None:
    vip = sandbox_server.sample("vip")
    address, dob = sandbox_server.sandbox.store.query("SELECT address, dob FROM customers WHERE gcr_id = ?",
                                                       (vip.gcr_id,))[0]
    async with connect(redact_pii=True) as client:
        texts = {}
        screening_id = await finished_screening(client, vip.email)
        for spec in all_specs():
            result = await client.call_tool(spec.name, sample_arguments(spec.name, vip.email, screening_id))
            texts[spec.name] = text_of(result)
            assert not result.is_error, texts[spec.name]
        profile = data_of(await client.call_tool("get_customer_profile", {"gcr_id": vip.gcr_id}))
        resource = await client.read_resource(f"cdp://customers/{vip.gcr_id}/overview")
        texts["resource"] = resource.contents[0].text
        for uri in (f"cdp://screenings/{screening_id}", f"cdp://screenings/{screening_id}/results.csv"):
            texts[uri] = (await client.read_resource(uri)).contents[0].text  # type: ignore[union-attr]
    born = date.fromisoformat(dob)
    for name, text in texts.items():
        for personal in (vip.email, vip.mobile, address, born.isoformat(), born.strftime("%d/%m/%Y")):
            assert personal not in text, (name, personal)
    assert profile["address"] == REDACTED and "email" not in profile  # the documented profile has no contact
    assert re.fullmatch(r"\d{4}", profile["birth_date"]) and profile["birth_date"] in dob
    assert profile["age"] and profile["gcr_id"] == vip.gcr_id


def test_redact_keeps_flags_and_numbers_under_personal_keys() -> None:
    data = {"consent": {"email": True}, "more": {"emailAddress": "a@b.c", "dob": "10/02/2002"},
            "birth_date": "2002-02-10",
            "rows": [{"customer": {"mobile": "5550100001", "gcr_id": 3}}]}
    assert redact(data) == {"consent": {"email": True}, "more": {"emailAddress": REDACTED, "dob": REDACTED},
                            "birth_date": "2002", "rows": [{"customer": {"mobile": REDACTED, "gcr_id": 3}}]}


class ExplodingClient:
    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"connection string contains {SECRET}")


async def test_an_unexpected_exception_reaches_the_client_as_a_generic_message(tmp_path: Path) -> None:
    settings = Settings(b2b_api_url="http://127.0.0.1:9", tenant_hash=SECRET, state_dir=tmp_path)

    @asynccontextmanager
    async def exploding() -> AsyncIterator[Backend]:
        yield Backend(settings=settings, client=ExplodingClient(), broker=None, sandbox=None,  # type: ignore[arg-type]
                      base_url="http://127.0.0.1:9")

    for mode in ("auto", "legacy"):
        async with Client(build_server(settings, backend=exploding), mode=mode) as client:
            result = await client.call_tool("get_customer_profile", {"gcr_id": 1})
        assert result.is_error
        assert SECRET not in text_of(result) and "RuntimeError" not in text_of(result)
        assert "get_customer_profile" in text_of(result)


def test_redact_judges_custom_attributes_by_name_and_masks_emails_in_text() -> None:
    """Attributes as get_customer_attributes publishes them, name -> value: the key-name rule masks them."""
    data = {"attributes": {"homeAddress": "1 Main St", "birthDate": "2002-02-10", "shoeSize": "42",
                           "secondaryEmail": True},
            "description": "Newsletter sent to ada.l+news@mail.example.co.uk on Monday"}
    assert redact(data) == {
        "attributes": {"homeAddress": REDACTED, "birthDate": "2002", "shoeSize": "42", "secondaryEmail": True},
        "description": f"Newsletter sent to {REDACTED} on Monday"}
