"""The catalog is the single source of truth: the vendor's 14 documented resources, and no other module spells a path
or scope."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cdp_mcp import catalog
from cdp_mcp.catalog import IDENTIFIERS, RESOURCES, Envelope, Paging, Scope, resource

PACKAGE = Path(catalog.__file__).parent
DOCUMENTED = [
    "basic", "segments", "searchSegments", "isCustomerInSegment", "campaigns", "searchCampaigns",
    "recommendedProducts", "userActivity", "productPurchaseTrends", "productPurchased", "affinity",
    "userAttributes", "gcrId", "optIn",
]


def test_the_fourteen_documented_resources_in_order() -> None:
    assert [r.name for r in RESOURCES] == DOCUMENTED


def test_gcr_is_served_at_gcr_with_identifiers_in_the_body() -> None:
    gcr = resource("gcrId")
    assert gcr.route.endswith("/b2b/gcr")
    assert gcr.identity_in_body and gcr.envelope is Envelope.GCR_LIST


def test_envelopes_query_parameters_and_paging_match_the_vendor_docs() -> None:
    assert resource("optIn").envelope is Envelope.BARE_ARRAY
    assert {r.name: r.query_param for r in RESOURCES if r.query_param} == {
        "searchSegments": "segmentName", "searchCampaigns": "campaignName", "isCustomerInSegment": "segmentId",
    }
    styles = {r.name: r.paging for r in RESOURCES if r.paging is not Paging.NONE}
    assert styles["segments"] is Paging.LAST_KEY and styles["productPurchased"] is Paging.LAST_KEY
    assert styles["campaigns"] is Paging.PAGE and styles["affinity"] is Paging.PAGE_SIZE


def test_unknown_resource_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="basic"):
        resource("nope")


def test_identifier_headers_are_the_documented_ones() -> None:
    assert [i.header for i in IDENTIFIERS] == ["gcrId", "email_address", "mobile_number", "customer_code_external"]


def _python_sources() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p.name != "catalog.py"]


@pytest.mark.parametrize(
    "literal",
    ["/api/v1/profile", "secureApi/token", "/b2b/", '"productPurchaseTrends"', '"isCustomerInSegment"',
     '"recommendedProducts"', '"email_address"', '"customer_code_external"'],
)
def test_no_module_but_the_catalog_spells_a_path_scope_or_header(literal: str) -> None:
    offenders = [str(p.relative_to(PACKAGE)) for p in _python_sources() if literal in p.read_text()]
    assert offenders == [], f"{literal} is spelled outside catalog.py in {offenders}"


def test_every_module_declares_all() -> None:
    missing = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
               if p.name not in {"__main__.py"} and p.stat().st_size > 0
               and not re.search(r"^__all__\s*[:=]", p.read_text(), re.M)]
    assert missing == []


def test_every_scope_constant_has_exactly_one_resource() -> None:
    assert [r.name for r in RESOURCES] == list(Scope)
