"""Each resource's domain model and reader, one module per resource (or family): what the client returns.

A module declares its domain models (normalised: our snake_case names, stable across tenants, `None` when
unknown) and a `Reader` per catalog resource it reads, e.g. `SEGMENTS: Reader[SegmentPage]`. Tools import the
reader they need (typed); `READERS` holds every one by resource name, found in this package's modules
(`catalog.declared_in`), for callers that name a resource at run time.
"""

from __future__ import annotations

from cdp_mcp.catalog import declared_in
from cdp_mcp.client.models import DomainModel
from cdp_mcp.client.reading import Reader

__all__ = ["READERS"]

READERS: dict[str, Reader[DomainModel]] = declared_in(__name__, Reader, lambda reader: (reader.scope,))
"""The reader of every catalog resource, by name, in catalog order."""
