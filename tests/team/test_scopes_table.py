"""The scopes table of the team page (docs/team/index.md, generated from `grants.GRANTS` by tests/generated_docs.py)
says what it does: each scope, what it is for, the API resources it reaches and the tools a person holding only that
scope sees."""

from __future__ import annotations

import re

import pytest

from cdp_mcp.grants import BROAD_SCOPE, GRANTS, Grant
from cdp_mcp.tools.registry import all_specs
from tests.generated_docs import TEAM_PAGE

_TOOL_NAME = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def _scopes_table() -> dict[str, list[str]]:
    """The table's rows under its `## Scopes` heading: scope -> the other cells."""
    text = TEAM_PAGE.read_text(encoding="utf-8")
    lines = text[text.index("\n## Scopes\n"):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| scope |"))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        scope, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[scope.strip("`")] = cells
    return rows


def _reached_alone(grant: Grant) -> set[str]:
    return {s.name for s in all_specs() if set(s.resources) <= grant.resources}


def test_the_table_lists_every_scope_in_order() -> None:
    assert list(_scopes_table()) == [g.scope for g in GRANTS]


@pytest.mark.parametrize("grant", GRANTS, ids=[g.scope for g in GRANTS])
def test_each_row_says_what_the_scope_is_for_reaches_and_shows(grant: Grant) -> None:
    purpose, resources, tools = _scopes_table()[grant.scope]
    assert purpose == grant.purpose
    named = set(_TOOL_NAME.findall(tools))
    if grant.scope == BROAD_SCOPE:
        assert resources == "all of the above" and grant.resources == frozenset().union(
            *(g.resources for g in GRANTS if g.scope != BROAD_SCOPE))
        assert f"all {len(all_specs())} " in tools and named <= {s.name for s in all_specs()}
    elif not grant.resources:
        assert resources == "nothing more" and not named
    else:
        assert set(resources.split(", ")) == grant.resources
        assert named == _reached_alone(grant)
