"""gcrId as the resolve_customer tool: the customer's Golden Customer Record id from their identifiers.

The gcr lookup is a kind of its own (`ResolveTool`): a bare gcr_id is checked through `basic`, since the gcr
lookup documents no gcrId key, and a match is remembered for the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field, model_validator

from cdp_mcp.catalog import Scope
from cdp_mcp.client.reading import Reader
from cdp_mcp.client.resources.gcr import GCR_ID, GcrMatch
from cdp_mcp.tools.kinds import LeftOut, ResourceTool
from cdp_mcp.tools.outputs import Result
from cdp_mcp.tools.spec import Handler, ToolCall
from cdp_mcp.tools.upstream import fetch, gcr_id_exists

__all__ = ["RESOLVE_CUSTOMER", "CustomerMatch", "ResolveTool"]


class CustomerMatch(Result):
    found: bool | None = Field(None, description="false: nobody matches")
    verified: bool | None = Field(None, description="false: the given gcr_id could not be checked")

    @model_validator(mode="before")
    @classmethod
    def _found_is_the_default(cls, data: Any) -> Any:
        return {**data, "found": None} if isinstance(data, dict) and data.get("found") is True else data


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveTool(ResourceTool):
    """The gcr lookup: identifiers in, the customer's gcr_id (or found=false) out; a bare gcr_id is checked
    through basic when granted."""

    reader: Reader[GcrMatch]
    output: type[Result] = CustomerMatch
    optional_resources: ClassVar[tuple[str, ...]] = (Scope.BASIC,)
    optional_note: ClassVar[str] = "basic to check a bare gcr_id"

    def handler(self) -> Handler:
        reader = self.reader

        async def handle(call: ToolCall) -> Result:
            identity = call.identity
            if identity.gcr_id is not None and len(identity.present()) == 1:
                exists = await gcr_id_exists(call.backend, identity)
                if exists is False:
                    return CustomerMatch(found=False)
                return CustomerMatch(gcr_id=identity.gcr_id, found=True, verified=False if exists is None else None)
            match = await fetch(call.backend, reader, identity)
            if match.found and match.gcr_id is not None:
                call.backend.remember_gcr_id(identity, match.gcr_id)
            return CustomerMatch(gcr_id=match.gcr_id if match.found else None, found=match.found)

        return handle


RESOLVE_CUSTOMER = ResolveTool(
    reader=GCR_ID, tool="resolve_customer", title="Resolve a customer",
    description="The customer's Golden Customer Record id (gcr_id) from email, mobile or customer code; "
    "found=false when nobody matches (a gcr_id alone is checked). Use gcr_id in later calls.",
    summary="the Golden Customer Record id",
    left_out=LeftOut(("status",), "`Available` / `Not available`: a `gcr_id`, or `found: false`"),
)
