"""The ToolSpec record: everything that defines one tool, kept apart from the registry that serves it.

A spec is data (name, title, description, the resources it needs, its described parameters, its output
model) plus one async handler. `registry.py` turns each spec into an MCP tool; tests iterate over all specs
to enforce annotations and descriptions.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mcp.types import ToolAnnotations
from pydantic import BaseModel

from cdp_mcp.client.identity import CustomerIdentity, identity_arguments
from cdp_mcp.settings import Settings

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from cdp_mcp.backend import Backend
    from cdp_mcp.jobs.service import Screenings

__all__ = ["READ_ONLY", "Handler", "Param", "ToolCall", "ToolSpec"]

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=True)
"""Every cdp-mcp tool reads a remote API and changes nothing. The MCP specification reads `destructiveHint` and
`idempotentHint` only when `readOnlyHint` is false, so a read-only tool states neither (as GitHub's server does):
45 bytes a tool that every conversation would load for nothing."""

_EMPTY = inspect.Parameter.empty


@dataclass(frozen=True, slots=True)
class Param:
    """One tool argument: its name, an `Annotated[type, Field(description=..., bounds)]`, and a default."""

    name: str
    annotation: object
    default: object = _EMPTY

    def parameter(self) -> inspect.Parameter:
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, annotation=self.annotation,
                                 default=self.default)


@dataclass(slots=True)
class ToolCall:
    """One invocation as a handler sees it: the backend, the validated arguments, progress reporting."""

    spec: ToolSpec
    backend: Backend
    settings: Settings
    arguments: dict[str, Any]
    ctx: Context[Any, Any] | None = None
    jobs: Callable[[], Screenings] | None = None  # the lifespan's screening service, made when a handler first asks
    resolved: dict[str, Any] = field(default_factory=dict)  # values the SDK's resolvers filled (ToolSpec.resolved)
    _identity: CustomerIdentity | None = field(default=None, repr=False)

    @property
    def identity(self) -> CustomerIdentity:
        """The customer the call is about; raises `InvalidInputError` naming the four arguments."""
        if self._identity is None:
            self._identity = CustomerIdentity.parse(**identity_arguments(self.arguments))
        return self._identity

    @property
    def screenings(self) -> Screenings | None:
        """The lifespan's screening service (None outside a server); only the screening tools ask for it."""
        return self.jobs() if self.jobs is not None else None

    async def progress(self, done: float, total: float, message: str) -> None:
        """Tell the host how far the call is (a no-op when the host asked for no progress)."""
        if self.ctx is not None:
            await self.ctx.report_progress(done, total, message)


Handler = Callable[[ToolCall], Awaitable[BaseModel]]


@dataclass(frozen=True)
class ToolSpec:
    """One tool. `resources` must all be granted for it to be registered; `optional_resources` enrich it.

    `summary` says in a few words what the tool answers, and `optional_note` how it uses its optional resources
    (other than the gcr lookup every customer tool makes): the docs' tools tables are generated from them."""

    name: str
    title: str
    description: str
    resources: tuple[str, ...]
    params: tuple[Param, ...]
    output: type[BaseModel]
    handler: Handler = field(repr=False)
    summary: str
    optional_resources: tuple[str, ...] = ()
    optional_note: str = ""
    customer: bool = True  # takes the four identifier arguments, validated before any upstream call
    view: str | None = None  # ui:// URI of the MCP Apps view that shows the result (cdp_mcp.views)
    resolved: tuple[Param, ...] = ()  # filled by the SDK's resolvers (Resolve) before the call: not in the schema
    annotations: ToolAnnotations = field(default_factory=lambda: READ_ONLY)

    @cached_property
    def signature(self) -> inspect.Signature:
        """The keyword-only signature the SDK reads: the input schema's arguments, then the resolved values."""
        return inspect.Signature([p.parameter() for p in (*self.params, *self.resolved)])
