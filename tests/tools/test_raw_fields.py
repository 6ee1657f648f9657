"""Lean, not lossy: every value a raw API response carries is in the tool's result, or the tools guide
(docs/tools.md, "Left out on purpose") lists its field as left out on purpose (and every field it lists is one the
API really sends)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from tool_results import Connect, data_of
from tool_transport import RecordingTransport

from cdp_mcp.catalog import RESOURCES
from cdp_mcp.client.values import as_date, as_money, as_month
from cdp_mcp.sandbox.server import SandboxThread
from cdp_mcp.tools.audience import SCREENING_TOOLS
from cdp_mcp.tools.composites import composite_specs
from cdp_mcp.tools.registry import all_specs
from tests.generated_docs import TOOLS_GUIDE

pytestmark = pytest.mark.anyio

SAMPLES = ("vip", "opted_out", "no_email", "new")
EVERY = "every resource"
DEFAULTS = {"quantity": 1}
"""Values the results leave out because they are the documented default (docs/tools.md: Result conventions)."""


def documented_omissions() -> dict[str, set[str]]:
    """The table under "Left out on purpose": resource (or EVERY) -> the field names it lists."""
    section = TOOLS_GUIDE.read_text(encoding="utf-8").split("\n## Left out on purpose\n", 1)[1].split("\n#", 1)[0]
    listed: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not line.startswith("|") or set(cells[0]) <= {"-"} or cells[0] == "resource":
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]) or [EVERY]:
            listed.setdefault(name, set()).update(re.findall(r"`([^`]+)`", cells[1]))
    return listed


def leaves(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(the field names leading to it, value) for every scalar in a JSON document."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from leaves(v, (*path, k))
    elif isinstance(data, list):
        for v in data:
            yield from leaves(v, path)
    else:
        yield path, data


class Found:
    """What a result says, searchable: its keys and texts (case-folded), its numbers, whether it says true."""

    def __init__(self, result: Any) -> None:
        self.texts: set[str] = set()
        self.numbers: list[float] = []
        self.true = False
        self._walk(result)

    def _walk(self, data: Any) -> None:
        if isinstance(data, dict):
            self.texts.update(str(k).casefold() for k in data)
            for v in data.values():
                self._walk(v)
        elif isinstance(data, list):
            for v in data:
                self._walk(v)
        elif isinstance(data, bool):
            self.true = self.true or data
        elif isinstance(data, int | float):
            self.numbers.append(float(data))
        elif isinstance(data, str):
            self.texts.add(data.casefold())

    def number(self, value: float) -> bool:
        return any(abs(n - value) < 0.006 for n in self.numbers) or f"{value:g}" in self.texts

    def text(self, value: str) -> bool:
        wanted = value.strip().casefold()
        return any(wanted == t or (len(wanted) > 1 and wanted in t) for t in self.texts)

    def has(self, key: str, value: Any) -> bool:
        """Whether the value is in the result, as the API sent it or as the client normalises it."""
        if value is None or value == "" or value is False or DEFAULTS.get(key) == value:
            return True
        if isinstance(value, bool):
            return self.true
        if isinstance(value, int | float):
            return self.number(float(value))
        text = str(value)
        forms: list[str] = [text]
        if (day := as_date(text)) is not None:
            forms.append(day.isoformat())
        if (month := as_month(text)) is not None:
            forms.append(month)
        money = as_money(text)
        if money is not None and money.currency and self.number(money.amount):
            return True
        return any(self.text(form) for form in forms) or (text.replace(".", "", 1).isdigit()
                                                           and self.number(float(text)))


def _arguments(tool: str, sample: Any, segment_id: str, limit: bool) -> dict[str, Any]:
    if tool == "resolve_customer":
        return {"customer_code": sample.customer_code}
    extra = {"search_customer_segments": {"segment_name": "e"}, "search_customer_campaigns": {"campaign_name": "e"},
             "check_customer_in_segment": {"segment_id": segment_id}}.get(tool, {})
    return {"gcr_id": sample.gcr_id, **extra, **({"limit": 100} if limit else {})}


async def test_every_raw_field_is_in_the_result_or_documented_as_left_out(
    connect: Connect, sandbox_server: SandboxThread,
) -> None:
    omitted = documented_omissions()
    assert omitted.get(EVERY) and set(omitted) - {EVERY} <= {r.name for r in RESOURCES}, omitted
    routes = {r.route: r.name for r in RESOURCES}
    transport = RecordingTransport(keep=tuple(routes))
    seen: dict[str, set[str]] = {}
    composites = {spec.name for spec in composite_specs()} | set(SCREENING_TOOLS)
    missing: list[str] = []
    async with connect(transport=transport) as client:
        for label in SAMPLES:
            sample = sandbox_server.sample(label)
            member = sandbox_server.sandbox.store.scalar(
                "SELECT segment_id FROM segment_members WHERE gcr_id = ?", (sample.gcr_id,)) or "101"
            for spec in all_specs():
                if spec.name in composites:
                    continue  # their sources are covered here one by one
                resource = spec.resources[0]
                listing = any(p.name == "limit" for p in spec.params)
                transport.bodies.clear()
                result = data_of(await client.call_tool(spec.name, _arguments(spec.name, sample, member, listing)))
                found = Found(result)
                bodies = [body for path, body in transport.bodies if routes[next(r for r in routes
                                                                                  if path.endswith(r))] == resource]
                assert bodies, (spec.name, transport.paths)
                left_out = omitted[EVERY] | omitted.get(resource, set())
                for path, value in leaves(json.loads(bodies[-1])):
                    seen.setdefault(resource, set()).update(path)
                    if not left_out & set(path) and not found.has(path[-1] if path else "", value):
                        missing.append(f"{spec.name} ({label}): {'.'.join(path)}={value!r}")
    assert not missing, "\n".join(sorted(set(missing)))
    every = set().union(*seen.values())
    phantom = [f"{r}: {f}" for r, fields in omitted.items() for f in fields
               if f not in (every if r == EVERY else seen.get(r, set()))]
    assert not phantom, f"the docs list fields the API does not send: {phantom}"
