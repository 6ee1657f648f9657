"""Each resource offered as a tool, one module per resource (or family): its result model, shaping and entry.

A module declares the result models of its tool(s), the shaping from the client's domain model, and one
`ResourceTool` per catalog resource (`kinds.py`: a `ListTool`, a `SingleTool`, or a kind of its own), naming
the resource's reader, so mypy checks the pairing. `PROFILE_TOOLS` holds every entry by resource name, found
in this package's modules (`catalog.declared_in`); `profile_specs` serves them in catalog order.
"""

from __future__ import annotations

from cdp_mcp.catalog import declared_in
from cdp_mcp.tools.kinds import ResourceTool
from cdp_mcp.tools.spec import ToolSpec

__all__ = ["PROFILE_TOOLS", "profile_specs"]

PROFILE_TOOLS: dict[str, ResourceTool] = declared_in(__name__, ResourceTool, lambda entry: (entry.reader.scope,))
"""How each catalog resource is offered as a tool, by resource name, in catalog order."""


def profile_specs() -> list[ToolSpec]:
    """One tool per catalog resource, in catalog order."""
    return [entry.spec() for entry in PROFILE_TOOLS.values()]
