"""The call guard around every tool call and every overview resource read, in process through the SDK client:
the backend opens inside it, so a refused caller never opens it and a failure to open leaves an audit line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError

from cdp_mcp.backend import Backend
from cdp_mcp.errors import ConfigurationError
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS
from cdp_mcp.server import build_server
from cdp_mcp.settings import Settings
from tests.helpers import RedisProcess

pytestmark = pytest.mark.anyio


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(b2b_api_url="http://127.0.0.1:9", tenant_hash="t" * 32, state_dir=tmp_path,
                    audit_log=str(tmp_path / "audit.jsonl"), **overrides)


def _lines(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(str(settings.audit.audit_log)).read_text().splitlines()]


async def test_a_caller_over_the_limit_never_opens_the_backend_and_a_failed_opening_is_audited(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, mcp_rate_limit=1)
    opened: list[int] = []

    @asynccontextmanager
    async def unopenable() -> AsyncIterator[Backend]:
        opened.append(1)
        raise ConfigurationError("The state directory is not writable.", hint="Check CDP_STATE_DIR.")
        yield  # pragma: no cover - never reached

    async with Client(build_server(settings, backend=unopenable)) as client:
        failed = await client.call_tool("get_customer_profile", {"gcr_id": 7})
        limited = await client.call_tool("get_customer_profile", {"gcr_id": 7})
    assert failed.is_error and limited.is_error and len(opened) == 1
    first, second = _lines(settings)
    assert (first["outcome"], second["outcome"]) == ("CONFIGURATION", "CALL_RATE_LIMITED")
    assert first["tool"] == "get_customer_profile" and first["gcr_id"] == 7 and first["principal"] == "local"


async def test_calls_the_sdk_refuses_are_audited_and_counted_against_the_rate_limit(tmp_path: Path) -> None:
    """Argument errors, unknown tools and bad overview URIs never reach a tool, yet each is a call: audited, and
    counted, so a caller cannot probe without limit."""
    settings = _settings(tmp_path, mcp_rate_limit=4)
    opened: list[int] = []

    @asynccontextmanager
    async def counted() -> AsyncIterator[Backend]:
        opened.append(1)
        raise ConfigurationError("not needed here")
        yield  # pragma: no cover - never reached

    async with Client(build_server(settings, backend=counted)) as client:
        bad_arguments = await client.call_tool("get_customer_profile", {"gcr_id": True, "email": "a@b.example"})
        unknown = await client.call_tool("get_customer_secrets", {"gcr_id": 1})
        with pytest.raises(MCPError):
            await client.read_resource("cdp://customers/abc/overview")
        with pytest.raises(MCPError):
            await client.read_resource("cdp://customers/1/overview/extra")
        limited = await client.call_tool("get_customer_profile", {"gcr_id": 1})  # the fifth call in the minute
        limited_too = await client.call_tool("get_customer_profile", {"gcr_id": "x"})
    assert bad_arguments.is_error and unknown.is_error and opened == []
    for refused in (limited, limited_too):
        assert refused.is_error and "Too many tool calls" in refused.content[0].text  # type: ignore[union-attr]
    lines = _lines(settings)
    assert [(line["tool"], line["outcome"]) for line in lines] == [
        ("get_customer_profile", "INVALID_ARGUMENTS"), ("get_customer_secrets", "UNKNOWN_TOOL"),
        ("resource:customer_overview", "INVALID_RESOURCE"), ("resource:customer_overview", "INVALID_RESOURCE"),
        ("get_customer_profile", "CALL_RATE_LIMITED"), ("get_customer_profile", "CALL_RATE_LIMITED")]
    assert lines[0]["identifiers"] == ["email", "gcr_id"] and "a@b.example" not in json.dumps(lines)
    assert all(line["principal"] == "local" and line["request_id"] for line in lines)


class _Exploding:
    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")


async def test_a_crash_reading_the_overview_resource_names_the_request_id_of_its_audit_line(tmp_path: Path) -> None:
    settings = _settings(tmp_path)

    @asynccontextmanager
    async def exploding() -> AsyncIterator[Backend]:
        yield Backend(settings=settings, client=_Exploding(), broker=None, sandbox=None,  # type: ignore[arg-type]
                      base_url="http://127.0.0.1:9")

    async with Client(build_server(settings, backend=exploding)) as client:
        with pytest.raises(MCPError) as crashed:
            await client.read_resource("cdp://customers/7/overview")
    match = re.search(r"request id ([0-9a-f]{12})", str(crashed.value))
    assert match is not None and "boom" not in str(crashed.value)
    (line,) = _lines(settings)
    assert line["tool"] == "resource:customer_overview" and line["outcome"] == "INTERNAL"
    assert line["request_id"] == match.group(1) and line["gcr_id"] == 7


def test_an_invalid_redis_url_stops_start_up_naming_the_variable_without_the_password(tmp_path: Path) -> None:
    settings = _settings(tmp_path, mcp_rate_limit=5, redis_url="redis://cdp:hunter2-secret@redis.internal:notaport/0")
    with pytest.raises(ConfigurationError) as refused:
        build_server(settings)
    text = f"{refused.value} {refused.value.hint}"
    assert "CDP_REDIS_URL" in text and "hunter2" not in text and "notaport" not in text


def test_start_up_imports_no_redis_client_without_cdp_redis_url(tmp_path: Path) -> None:
    script = ("import sys\nfrom cdp_mcp.server import build_server\nfrom cdp_mcp.settings import Settings\n"
              "build_server(Settings(mcp_rate_limit=5))\n"
              "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'redis'))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDP_")} | {"CDP_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=env, check=True)
    assert done.stdout.strip() == "[]"


async def test_the_rate_limit_fails_closed_while_redis_is_down_and_recovers_when_it_returns(tmp_path: Path) -> None:
    if RedisProcess.binary() is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server): the shared rate limit is untested")
    redis = RedisProcess(tmp_path).start()
    try:
        settings = Settings(state_dir=tmp_path, audit_log=str(tmp_path / "audit.jsonl"), mcp_rate_limit=100,
                            redis_url=redis.url, sandbox_customers=MIN_CUSTOMERS)
        async with Client(build_server(settings)) as client:
            assert not (await client.call_tool("get_customer_profile", {"gcr_id": 1})).is_error
            redis.stop()
            down = [await client.call_tool("get_customer_profile", {"gcr_id": 1}) for _ in range(2)]
            redis.start()
            back = await client.call_tool("get_customer_profile", {"gcr_id": 1})
    finally:
        redis.stop()
    for refused in down:
        text = refused.content[0].text  # type: ignore[union-attr]
        assert refused.is_error and "rate limit store is unavailable" in text and "refused" in text, text
        assert redis.password not in text
    assert not back.is_error
    assert [line["outcome"] for line in _lines(settings)] == ["ok", "RATE_LIMIT_UNAVAILABLE",
                                                               "RATE_LIMIT_UNAVAILABLE", "ok"]
