"""Each resource as the sandbox serves it, one module per resource (or family): its view, and its own data.

A module declares the view of each resource it serves (`SandboxResource`), and, for a resource whose data no
other resource's tables hold, its tables and how a customer's rows are generated (`generator.OwnData`).
`SERVED` holds every declaration by resource name, found in this package's modules (`catalog.declared_in`); the
identity-in-body resource (`gcr`) is answered by the app itself.
"""

from __future__ import annotations

from cdp_mcp.catalog import declared_in
from cdp_mcp.sandbox.generator import OwnData
from cdp_mcp.sandbox.views import SandboxResource, View

__all__ = ["OWN_DATA", "SERVED", "VIEWS", "default_page_size"]

SERVED: dict[str, SandboxResource] = declared_in(__name__, SandboxResource, lambda served: (served.scope,),
                                                 needed=lambda r: not r.identity_in_body)
"""How the sandbox serves each catalog resource, by name, in catalog order."""

VIEWS: dict[str, View] = {name: served.view for name, served in SERVED.items()}
"""The view of each resource the sandbox serves through a view, by name."""

OWN_DATA: dict[str, OwnData] = {name: served.data for name, served in SERVED.items() if served.data is not None}
"""The resources that bring their own tables, by name (seeded after the shared tables)."""


def default_page_size(resource_name: str) -> int | None:
    """The resource's own default `pageSize` when it differs from its paging style's default."""
    served = SERVED.get(resource_name)
    return served.default_page_size if served is not None else None
