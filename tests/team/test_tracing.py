"""Spans below the SDK's per-message span (recorded with opentelemetry-sdk's in-memory exporter), exporting
only when OTEL_* asks, and the request id shared by an unexpected failure, the log and the audit line."""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from cdp_mcp.backend import Backend
from cdp_mcp.sandbox import SampleCustomer
from cdp_mcp.server import build_server
from cdp_mcp.settings import SANDBOX_TENANT_HASH, Settings
from cdp_mcp.tracing import configure_tracing

pytestmark = pytest.mark.anyio


def _restore_global_tracing() -> None:
    """Back to no tracer provider, as the process started: the OpenTelemetry API sets one once per process, so its
    own test utilities reset these globals the same way (`opentelemetry.test.globals_test`). The module-level
    tracers made before (cdp-mcp's, the MCP SDK's) kept the provider's tracer: they forget it too, or every later
    span would still be recorded by this module's provider."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # no public API undoes set_tracer_provider
    trace._TRACER_PROVIDER = None
    for tracer in (o for o in gc.get_objects() if isinstance(o, trace.ProxyTracer)):
        tracer._real_tracer = None


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """A tracer provider recording into memory for this module's tests, installed for them only: the process's
    global tracing is restored after (later tests, in whatever order they run, find none installed)."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        pytest.skip("another tracer provider is installed in this process")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        # The exporter stops, not the provider: a tracer taken from the provider while it was installed records
        # nothing from now on, silently, where a shut-down provider would log a warning for every span (tests that
        # read the warnings they cause would see them). The global provider goes back to none.
        exporter.shutdown()
        _restore_global_tracing()


async def test_a_tool_call_traces_its_upstream_request_and_token_creation(
    spans: InMemorySpanExporter, tmp_path: Path, showcase: SampleCustomer,
) -> None:
    settings = Settings(state_dir=tmp_path, sandbox_customers=200, log_level="WARNING")
    spans.clear()
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("get_marketing_consent", {"email": showcase.email})
    assert not result.is_error
    finished: list[ReadableSpan] = list(spans.get_finished_spans())
    by_name = {s.name: s for s in finished}
    call = by_name["tools/call get_marketing_consent"]
    upstream = by_name["cdp.upstream optIn"]
    creation = next(s for s in finished if s.name == "cdp.token create"
                    and s.attributes and s.attributes["cdp.token.resources"] == ("optIn",))
    assert upstream.parent is not None and upstream.parent.span_id == call.context.span_id
    assert creation.attributes is not None and creation.attributes["cdp.outcome"] == "ok"
    assert by_name["cdp.upstream gcrId"].attributes == {"cdp.resource": "gcrId", "cdp.outcome": "ok"}
    token_request = next(s for s in finished if s.name == "cdp.upstream token create"
                         and s.parent is not None and s.parent.span_id == creation.context.span_id)
    assert token_request.attributes is not None and token_request.attributes["cdp.outcome"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{12}", str((call.attributes or {})["cdp.request_id"]))
    dumped = json.dumps([s.to_json() for s in finished])
    for secret in (showcase.email, showcase.mobile, SANDBOX_TENANT_HASH):
        assert secret not in dumped  # type: ignore[operator]


async def test_a_failed_upstream_request_says_how_it_ended(spans: InMemorySpanExporter, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, sandbox_customers=200, log_level="WARNING")
    spans.clear()
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("get_customer_profile", {"email": "nobody-here@example.com"})
    assert result.is_error
    basic = next(s for s in spans.get_finished_spans() if s.name == "cdp.upstream basic")
    assert basic.attributes is not None and basic.attributes["cdp.outcome"] == "CUSTOMER_NOT_FOUND"
    assert "nobody-here" not in json.dumps(basic.to_json())


def test_nothing_is_exported_without_otel_variables_and_console_export_keeps_stdout_clean(tmp_path: Path) -> None:
    assert configure_tracing({}) == []
    script = ("from cdp_mcp.tracing import configure_tracing, outcome_span\n"
              "print(configure_tracing())\n"
              "with outcome_span('cdp.upstream basic', {'cdp.resource': 'basic'}): pass\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=env | {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "cdp-test"}, check=True)
    assert done.stdout.strip() == "['console']"
    assert '"name": "cdp.upstream basic"' in done.stderr and "cdp-test" in done.stderr
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                           env=env, check=True)
    assert quiet.stdout.strip() == "[]" and quiet.stderr == ""


def test_build_server_leaves_trace_export_and_logging_to_the_process(tmp_path: Path) -> None:
    """OTEL_* asks for export, yet building a server installs no tracer provider and sets no logger level: the
    command that runs the process does (serve, call, card, demo: tests/commands), and an application embedding the
    server keeps its own."""
    script = ("import logging\nfrom opentelemetry import trace\nfrom cdp_mcp.server import build_server\n"
              "from cdp_mcp.settings import Settings\nbuild_server(Settings())\n"
              "print(type(trace.get_tracer_provider()).__name__, logging.getLogger('httpx2').level)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CDP_"))}
    env |= {"OTEL_TRACES_EXPORTER": "console", "CDP_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=env, check=True)
    assert done.stdout.split() == ["ProxyTracerProvider", str(logging.NOTSET)]


class _Exploding:
    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")


async def test_an_unexpected_failure_shows_the_model_the_request_id_found_in_the_log_and_audit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    audit = tmp_path / "audit.jsonl"
    settings = Settings(b2b_api_url="http://127.0.0.1:9", tenant_hash="t" * 32, state_dir=tmp_path,
                        audit_log=str(audit))

    @asynccontextmanager
    async def exploding() -> AsyncIterator[Backend]:
        yield Backend(settings=settings, client=_Exploding(), broker=None, sandbox=None,  # type: ignore[arg-type]
                      base_url="http://127.0.0.1:9")

    async with Client(build_server(settings, backend=exploding)) as client:
        result = await client.call_tool("get_customer_profile", {"gcr_id": 7})
    text = "".join(getattr(c, "text", "") for c in result.content)
    match = re.search(r"request id ([0-9a-f]{12})", text)
    assert result.is_error and match is not None and "boom" not in text
    (line,) = [json.loads(raw) for raw in audit.read_text().splitlines()]
    assert line["request_id"] == match.group(1) and line["outcome"] == "INTERNAL"
    assert line["principal"] == "local" and line["transport"] == "stdio" and line["gcr_id"] == 7
    assert any(match.group(1) in r.getMessage() and r.exc_info for r in caplog.records)
