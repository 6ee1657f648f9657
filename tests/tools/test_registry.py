"""The tool surface: allowlist, granted resources, stable order, completeness of every spec, and toolsnaps."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tool_results import Connect

from cdp_mcp.catalog import IDENTIFIERS, RESOURCE_NAMES, RESOURCES
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from cdp_mcp.tools.audience import SCREENING_TOOLS
from cdp_mcp.tools.registry import all_specs, select_specs
from cdp_mcp.tools.resources import PROFILE_TOOLS
from tests.helpers import LIST_BUDGET, MODEL_BUDGET, SCREENING_LIST_BUDGET, Surface

pytestmark = pytest.mark.anyio

SNAPS = Path(__file__).parent / "__toolsnaps__"
SELF_DESCRIBED = {i.argument for i in IDENTIFIERS[1:]}
"""Identifier arguments without a description of their own: the first identifier's says the rule, the server
instructions describe all four, and email, mobile, customer_code name themselves."""
TOOLS = [*(entry.tool for entry in PROFILE_TOOLS.values()), "get_customer_overview", "screen_customers",
         *SCREENING_TOOLS]
"""Every tool: one per catalog resource, in catalog order, then the two composites, then audience screening."""
CHANGES_STATE = {"cancel_screening": {"read_only_hint": False, "destructive_hint": False, "idempotent_hint": True,
                                      "open_world_hint": False}}
"""Stops a screening: not read-only, though it changes nothing upstream (the others read, and state only that)."""


def names(settings: Settings) -> list[str]:
    return [s.name for s in select_specs(settings)]


def test_all_tools_in_catalog_order_then_composites(tmp_path: Path) -> None:
    assert names(Settings(state_dir=tmp_path)) == TOOLS
    assert list(PROFILE_TOOLS) == [r.name for r in RESOURCES]


def test_allowlist_keeps_catalog_order_and_refuses_unknown_names(tmp_path: Path) -> None:
    chosen = Settings(state_dir=tmp_path, tools=["screen_customers", "get_customer_profile"])
    assert names(chosen) == ["get_customer_profile", "screen_customers"]
    with pytest.raises(ConfigurationError) as refused:
        build_server(Settings(state_dir=tmp_path, tools=["get_customer_profile", "get_profile"]))
    assert "get_profile" in refused.value.message and "get_customer_overview" in refused.value.hint


def test_granted_resources_decide_the_surface(tmp_path: Path) -> None:
    only = Settings(state_dir=tmp_path, resources=["basic", "optIn"])
    assert names(only) == ["get_customer_profile", "get_marketing_consent", "get_customer_overview"]
    without_basic = Settings(state_dir=tmp_path, resources=sorted(RESOURCE_NAMES - {"basic"}))
    assert "get_customer_overview" not in names(without_basic) and "screen_customers" not in names(without_basic)


def test_every_spec_is_complete() -> None:
    for spec in all_specs():
        a = spec.annotations
        expected = CHANGES_STATE.get(spec.name, {"read_only_hint": True, "open_world_hint": True})
        assert a.model_dump(exclude_none=True) == expected, spec.name
        assert spec.title and 40 <= len(spec.description) <= 400, spec.name
        assert "IMPORTANT" not in spec.description and "MUST" not in spec.description
        assert set(spec.resources) | set(spec.optional_resources) <= RESOURCE_NAMES


def _described(schema: dict[str, Any], where: str) -> None:
    assert "title" not in schema, f"{where} publishes a generated title"
    for name, prop in schema.get("properties", {}).items():
        assert prop.get("description") or name in SELF_DESCRIBED, f"{where}.{name} has no description"
        assert "title" not in prop and {"type": "null"} not in prop.get("anyOf", []), f"{where}.{name} is not tidy"
        for option in [prop, *prop.get("anyOf", [])]:
            if option.get("type") == "integer":
                assert "minimum" in option and "maximum" in option, f"{where}.{name} is unbounded"
            if option.get("type") == "string" and "enum" not in option:
                assert "maxLength" in option, f"{where}.{name} is unbounded"
            if option.get("type") == "array":
                assert "maxItems" in option, f"{where}.{name} is unbounded"
                _described(option["items"], f"{where}.{name}[]")


async def test_listed_tools_have_described_bounded_inputs_and_output_schemas(connect: Connect) -> None:
    async with connect() as client:
        tools = (await client.list_tools()).tools
    assert [t.name for t in tools] == TOOLS
    for tool in tools:
        _described(tool.input_schema, tool.name)
        assert tool.output_schema and tool.output_schema["type"] == "object"
        limit = tool.input_schema["properties"].get("limit")
        if limit:
            assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 10)


async def test_tools_list_keeps_within_its_budget_and_every_schema_is_self_contained(connect: Connect) -> None:
    """Every conversation loads tools/list before its first question: the surface keeps within issue 17's limits (the
    whole list's for its sixteen tools, the screening tools within their own; bench_surface.py prints the figures by
    part), and no schema holds a `$ref`, which many hosts cannot resolve."""
    async with connect() as client:
        tools = (await client.list_tools()).tools
    surface = Surface.of(tools)
    assert surface.for_the_model <= MODEL_BUDGET, surface
    others = Surface.of([t for t in tools if t.name not in SCREENING_TOOLS])
    assert others.whole <= LIST_BUDGET, others
    screening = Surface.of([t for t in tools if t.name in SCREENING_TOOLS])
    assert screening.whole <= SCREENING_LIST_BUDGET, screening
    for tool in tools:
        for schema in (tool.input_schema, tool.output_schema):
            assert "$ref" not in json.dumps(schema) and "$defs" not in json.dumps(schema), tool.name


async def test_toolsnaps(connect: Connect) -> None:
    """tools/list is a public interface: each tool's definition is snapshotted; CDP_UPDATE_TOOLSNAPS=1 rewrites."""
    update = os.environ.get("CDP_UPDATE_TOOLSNAPS") == "1"
    async with connect() as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        snap = json.dumps(tool.model_dump(mode="json", by_alias=True, exclude_none=True), indent=2, sort_keys=True)
        path = SNAPS / f"{tool.name}.json"
        if update:
            path.write_text(snap + "\n")
        assert path.exists(), f"missing snapshot {path.name}: run with CDP_UPDATE_TOOLSNAPS=1"
        assert path.read_text() == snap + "\n", f"{tool.name} changed: review, then CDP_UPDATE_TOOLSNAPS=1"
    assert sorted(p.stem for p in SNAPS.glob("*.json")) == sorted(t.name for t in tools)
