"""OpenTelemetry spans below the SDK's per-message span: each upstream request, each token creation/update.

The SDK already opens a span for every MCP message (`tools/call get_customer_profile`); these are its
children, so a trace shows which API resources a call read, which token it created or extended, and how
each ended. Attributes name resources and outcomes only (`cdp.resource`, `cdp.outcome` = `ok` or the
error code): never a token, a secret, a customer identifier or a URL.

Without a configured SDK the OpenTelemetry API hands out non-recording spans, which cost a few
microseconds; the span of each upstream request, the hottest path, is not even opened then.
`configure_tracing()` installs an SDK and exporter only when the standard `OTEL_*` variables ask for one
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_EXPORTER`), from the optional `[otel]` extra;
`OTEL_SDK_DISABLED=true` turns it off. It changes the whole process, so the commands that run a server call it
(`serve`; `call`, `card` and `demo` through `commands.inprocess`), never `build_server`.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import anyio
from opentelemetry import trace
from opentelemetry.trace import Span, StatusCode

from cdp_mcp.errors import CdpError
from cdp_mcp.version import __version__

__all__ = ["INSTALL_COMMAND", "configure_tracing", "outcome_of", "outcome_span", "traced_upstream"]

logger = logging.getLogger(__name__)

INSTALL_COMMAND = "pip install 'cdp-mcp[otel]'"
_tracer = trace.get_tracer("cdp_mcp", __version__)
_configured: list[str] = []

P = ParamSpec("P")
R = TypeVar("R")


def outcome_of(exc: BaseException | None) -> str:
    """How an operation ended, as spans and metrics say it: `ok`, the CdpError's code, `cancelled` or the
    exception's type."""
    if exc is None:
        return "ok"
    if isinstance(exc, CdpError):
        return exc.code
    return "cancelled" if isinstance(exc, anyio.get_cancelled_exc_class()) else type(exc).__name__


@contextmanager
def outcome_span(name: str, attributes: Mapping[str, Any]) -> Iterator[Span]:
    """A child span whose `cdp.outcome` is `outcome_of` how the block ended."""
    with _tracer.start_as_current_span(name, attributes=dict(attributes), record_exception=False,
                                       set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:  # cancellation included: the span still ends, saying how
            outcome = outcome_of(exc)
            span.set_attribute("cdp.outcome", outcome)
            if outcome != "cancelled":
                span.set_status(StatusCode.ERROR)
            raise
        span.set_attribute("cdp.outcome", "ok")


def traced_upstream(post: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorates `ApiCaller.post(self, path, *, what, ...)`: one span per upstream request, retries included."""

    @functools.wraps(post)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            return await post(*args, **kwargs)  # no tracer provider installed: a span would record nothing
        what = str(kwargs.get("what", "request"))
        with outcome_span(f"cdp.upstream {what}", {"cdp.resource": what}):
            return await post(*args, **kwargs)

    return wrapper


def _exporter(name: str, environ: Mapping[str, str]) -> Any:
    """The span exporter the OTEL_TRACES_EXPORTER name asks for; the OTLP exporters read OTEL_* themselves."""
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415 - optional extra

        return ConsoleSpanExporter(out=sys.stderr)  # stdout carries the protocol over stdio
    if name != "otlp":
        logger.warning("OTEL_TRACES_EXPORTER=%s is not supported by cdp-mcp (otlp, console); ignored", name)
        return None
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter()


def configure_tracing(environ: Mapping[str, str] | None = None) -> list[str]:
    """Export spans as the OTEL_* variables say; nothing without them. Idempotent. Returns the exporters set up.

    An application that already installed a tracer provider (opentelemetry-instrument) keeps it.
    """
    environ = os.environ if environ is None else environ
    if _configured or environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return list(_configured)
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    requested = environ.get("OTEL_TRACES_EXPORTER") or ("otlp" if endpoint else "")
    names = [n.strip() for n in requested.split(",") if n.strip() and n.strip() != "none"]
    if not names or not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return []
    try:
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - optional extra
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

        service = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": "cdp-mcp"}
        provider = TracerProvider(resource=Resource.create({**service, "service.version": __version__}))
        for name in names:
            exporter = _exporter(name, environ)
            if exporter is not None:
                provider.add_span_processor(BatchSpanProcessor(exporter))
                _configured.append(name)
    except ImportError:
        logger.warning("OTEL_* variables ask for traces, but the OpenTelemetry SDK or exporter is not installed: "
                       "%s. No spans are exported.", INSTALL_COMMAND)
        return []
    if _configured:
        trace.set_tracer_provider(provider)
        logger.info("Exporting traces (%s)", ", ".join(_configured))
    return list(_configured)
