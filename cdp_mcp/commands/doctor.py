"""`cdp-mcp doctor`: is this installation ready to serve? Each check says what to fix when it fails.

Checks, in order: the configuration (secrets shown only as set/unset and length), the state directory,
reaching the API (or that the embedded sandbox serves), one minimal token created or reused through the
broker (the profile card's scope, which the first real call reuses), and the day's token allowance.
Exit code 0 when every check passes, 1 when one fails, 2 when the configuration cannot be loaded.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio
import httpx2
from pydantic import SecretStr

from cdp_mcp.backend import Backend, open_backend
from cdp_mcp.catalog import Scope
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.commands.common import EXIT_FAILURE, load_settings
from cdp_mcp.errors import CdpError
from cdp_mcp.http_app import MIN_TOKEN_LENGTH
from cdp_mcp.settings import Settings
from cdp_mcp.team.doctor_checks import check_deployment

__all__ = ["Report", "redacted_settings", "run"]

_PROBE_SCOPE = frozenset({Scope.BASIC.value})
"""The profile card's scope: the smallest token a session is sure to use."""
_OK, _FAIL, _INFO = "[ok]  ", "[FAIL]", "[--]  "
_ALWAYS_SHOWN = frozenset({"b2b_api_url", "tenant_hash", "oauth_key_secret", "token_policy", "token_daily_limit",
                           "state_dir", "redact_pii", "tools", "resources"})
_TENANT_HASH_LENGTH = 32
_OAUTH_SECRET_LENGTH = 16


@dataclass
class Report:
    """The lines printed so far and whether any check failed."""

    failed: bool = False
    lines: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self._emit(f"  {_OK} {text}")

    def info(self, text: str) -> None:
        self._emit(f"  {_INFO} {text}")

    def fail(self, text: str, hint: str = "") -> None:
        self.failed = True
        self._emit(f"  {_FAIL} {text}" + (f"\n         fix: {hint}" if hint else ""))

    def section(self, title: str) -> None:
        self._emit(title)

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


def redacted_settings(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as (CDP_NAME, shown value): secrets become `set (N characters)` or `not set`."""
    rows = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = f"set ({len(value.get_secret_value())} characters)"
        elif value is None:
            shown = "not set"
        elif isinstance(value, bool):
            shown = str(value).lower()
        elif isinstance(value, list):
            shown = ",".join(map(str, value))
        else:
            shown = str(value)
        rows.append((f"CDP_{name.upper()}", shown))
    return rows


def _check_config(settings: Settings, report: Report) -> None:
    report.section("Configuration")
    shown = dict(redacted_settings(settings))
    for name in type(settings).model_fields:
        if name in _ALWAYS_SHOWN or name in settings.model_fields_set:
            report.info(f"CDP_{name.upper()} = {shown[f'CDP_{name.upper()}']}")
    if settings.uses_sandbox:
        report.ok("CDP_B2B_API_URL is unset: the embedded sandbox answers (synthetic customers)")
    else:
        report.ok(f"API at {settings.b2b_api_url}, tenant hash set")
    secrets = {"CDP_TENANT_HASH": (settings.tenant_hash, _TENANT_HASH_LENGTH),
               "CDP_OAUTH_KEY_SECRET": (settings.oauth_key_secret, _OAUTH_SECRET_LENGTH)}
    for env, (secret, expected) in secrets.items():
        if secret is not None and len(secret.get_secret_value().strip()) != expected:
            report.fail(f"{env} has {len(secret.get_secret_value().strip())} characters; the API issues {expected}",
                        f"copy {env} again from your account team's message (no quotes or spaces).")
    if settings.mcp_auth_token is None:
        report.info("CDP_MCP_AUTH_TOKEN is unset: `serve --transport http` serves on loopback only")
    elif len(settings.mcp_auth_token.get_secret_value().strip()) < MIN_TOKEN_LENGTH:
        report.fail(f"CDP_MCP_AUTH_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters",
                    "use a long random value: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")


async def _check_state_dir(settings: Settings, report: Report) -> bool:
    def probe() -> None:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=settings.state_dir):
            pass

    try:
        await anyio.to_thread.run_sync(probe)
    except OSError as exc:
        report.fail(f"state directory {settings.state_dir} is not writable ({exc.strerror or exc})",
                    "set CDP_STATE_DIR to a directory this user can write (token cache and creation ledger).")
        return False
    report.ok(f"state directory {settings.state_dir} is writable")
    return True


async def _check_reachable(settings: Settings, report: Report) -> bool:
    report.section("Connectivity")
    if settings.b2b_api_url is None:
        report.ok("embedded sandbox in process: nothing to reach")
        return True
    started = time.perf_counter()
    try:
        async with make_http_client(settings, base_url=settings.b2b_api_url) as http:
            response = await http.get("")
    except httpx2.TransportError as exc:
        report.fail(f"cannot reach {settings.b2b_api_url} ({type(exc).__name__})",
                    "check CDP_B2B_API_URL, DNS, proxy and firewall; raise CDP_CONNECT_TIMEOUT for slow links.")
        return False
    elapsed = (time.perf_counter() - started) * 1000
    report.ok(f"{settings.b2b_api_url} answers (HTTP {response.status_code} in {elapsed:.0f} ms)")
    return True


async def _check_token(backend: Backend, report: Report) -> bool:
    report.section("Token")
    before = backend.broker.stats.as_dict()
    try:
        await backend.broker.acquire(_PROBE_SCOPE)
    except CdpError as exc:
        report.fail(f"no token for scope {', '.join(sorted(_PROBE_SCOPE))}: {exc.message}", exc.hint)
        return False
    after = backend.broker.stats.as_dict()
    how = next((k for k in ("created", "updated", "rescoped", "reused") if after[k] > before[k]), "obtained")
    report.ok(f"token for scope {', '.join(sorted(_PROBE_SCOPE))} {how} (the token itself is never shown)")
    return True


async def _check_allowance(backend: Backend, report: Report) -> None:
    report.section("Token allowance (rolling 24 hours)")
    allowance = await backend.broker.allowance()
    line = f"{allowance.remaining} of {allowance.limit} creations left ({allowance.used} used)"
    if allowance.next_free_at is not None:
        wait = allowance.next_free_at.astimezone(UTC)
        line += f"; the next frees up at {wait:%Y-%m-%d %H:%M} UTC"
    if allowance.remaining == 0:
        report.fail(line, "wait, or ask the vendor to raise the limit; CDP_TOKEN_POLICY=shared needs fewer.")
    elif allowance.remaining <= max(1, allowance.limit // 10):
        report.info(line + " (running low)")
    else:
        report.ok(line)


async def _diagnose(settings: Settings) -> Report:
    report = Report()
    print(f"cdp-mcp doctor · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    _check_config(settings, report)
    await check_deployment(settings, report)  # sign-in (OAuth) and Redis, when configured
    if not await _check_state_dir(settings, report) or not await _check_reachable(settings, report):
        return report
    try:
        async with open_backend(settings, keep_alive=False) as backend:
            if await _check_token(backend, report):
                await _check_allowance(backend, report)
    except CdpError as exc:
        report.fail(exc.message, exc.hint)
    return report


def run(args: argparse.Namespace) -> int:
    del args
    settings = load_settings(quiet=True)
    logging.getLogger("cdp_mcp.backend").setLevel(logging.ERROR)  # the report says which backend answers
    report = anyio.run(_diagnose, settings)
    print("Some checks failed; fix them and run `cdp-mcp doctor` again." if report.failed
          else "All checks passed: `cdp-mcp serve` is ready for your MCP host.")
    return EXIT_FAILURE if report.failed else 0
