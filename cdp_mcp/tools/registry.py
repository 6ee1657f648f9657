"""Select, order and register the tools: the one place that decides what `tools/list` shows.

Filters apply in this order: the allowlist (CDP_TOOLS / --tools; an unknown name stops start-up with
the valid names), then the granted resources (CDP_RESOURCES; a tool whose required resources are not all
granted is left out). The order is stable: catalog order, then the composites.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult

from cdp_mcp.errors import CdpError, ConfigurationError
from cdp_mcp.settings import Settings
from cdp_mcp.tools.composites import composite_specs
from cdp_mcp.tools.profile import profile_specs
from cdp_mcp.tools.results import error_result, tool_result
from cdp_mcp.tools.spec import ToolCall, ToolSpec

__all__ = ["all_specs", "register_tools", "select_specs", "tool_function"]

logger = logging.getLogger(__name__)
_CTX = "ctx"


def all_specs() -> list[ToolSpec]:
    """Every tool cdp-mcp offers, in tools/list order."""
    return [*profile_specs(), *composite_specs()]


def select_specs(settings: Settings, specs: Sequence[ToolSpec] | None = None) -> list[ToolSpec]:
    """The tools to serve under `settings` (allowlist, then granted resources), in stable order.

    Raises:
        ConfigurationError: CDP_TOOLS names a tool that does not exist.
    """
    specs = list(specs if specs is not None else all_specs())
    names = [s.name for s in specs]
    if settings.tools is not None:
        unknown = [t for t in settings.tools if t not in names]
        if unknown:
            raise ConfigurationError(f"Unknown tool name(s) in CDP_TOOLS: {', '.join(unknown)}.",
                                     hint=f"Valid names: {', '.join(names)}.")
        specs = [s for s in specs if s.name in settings.tools]
    if settings.resources is not None:
        granted = set(settings.resources)
        left_out = [s.name for s in specs if not set(s.resources) <= granted]
        if left_out:
            logger.info("Not serving %s: CDP_RESOURCES does not grant what they need.", ", ".join(left_out))
        specs = [s for s in specs if set(s.resources) <= granted]
    return specs


def tool_function(spec: ToolSpec, settings: Settings) -> Callable[..., Any]:
    """An async function whose signature is the spec's parameters, for the SDK to derive schemas from.

    CdpErrors become `is_error` results with message and hint; any other exception is left to the SDK,
    which logs it and shows the client only a generic message.
    """

    async def run(**kwargs: Any) -> CallToolResult:
        ctx: Context[Any, Any] = kwargs.pop(_CTX)
        call = ToolCall(spec=spec, backend=ctx.request_context.lifespan_context, settings=settings,
                        arguments=kwargs, ctx=ctx)
        try:
            if spec.customer:
                _ = call.identity  # validated before any upstream call
            model = await spec.handler(call)
        except CdpError as exc:
            logger.info("%s failed: %s", spec.name, exc.code)
            return error_result(exc)
        return tool_result(model, redact_pii=settings.redact_pii)

    returns = Annotated[CallToolResult, spec.output]
    context = inspect.Parameter(_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=Context)
    run.__signature__ = spec.signature.replace(  # type: ignore[attr-defined]
        parameters=[*spec.signature.parameters.values(), context], return_annotation=returns)
    run.__annotations__ = {**{p.name: p.annotation for p in spec.params}, _CTX: Context, "return": returns}
    run.__name__ = run.__qualname__ = spec.name
    run.__doc__ = spec.description
    return run


def register_tools(server: MCPServer[Any], settings: Settings) -> list[ToolSpec]:
    """Register the selected tools on `server` in order; return them."""
    specs = select_specs(settings)
    for spec in specs:
        server.add_tool(tool_function(spec, settings), name=spec.name, title=spec.title,
                        description=spec.description, annotations=spec.annotations, structured_output=True)
    return specs
