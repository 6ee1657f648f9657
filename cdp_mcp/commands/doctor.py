"""`cdp-mcp doctor`: is this installation ready to serve? Each line says what was found; a failure, what to do.

Checks run in order (`CHECKS`): the configuration (secrets shown only as set or not set), the state
directory, reaching the API (or that the embedded sandbox is used), one minimal token created or reused
through the broker (the profile card's scope, which the first real call reuses), and the day's token
allowance. A check that fails stops the checks that depend on it. Another check is one more `Check` in the
list; one that needs the broker or client sets `needs_backend`. Nothing about a secret is guessed (its
length, its alphabet): the API says whether it is right, and a refusal names the setting to fix.
Exit code 0 when every check passes, 1 when one fails, 2 when the configuration cannot be loaded.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import anyio
import httpx2
from pydantic import SecretStr

from cdp_mcp.backend import Backend, open_backend
from cdp_mcp.catalog import Scope
from cdp_mcp.client.transport import make_http_client
from cdp_mcp.commands.common import EXIT_FAILURE, load_settings
from cdp_mcp.commands.doctor_deployment import check_deployment
from cdp_mcp.errors import AuthenticationError, CdpError
from cdp_mcp.http_app import MIN_TOKEN_LENGTH
from cdp_mcp.settings import SETTINGS, Settings, env_name

__all__ = ["CHECKS", "DESCRIPTION", "Check", "Checkup", "Report", "add_arguments", "redacted_settings", "run"]

DESCRIPTION = ("Check the configuration, reach the API (or the embedded sandbox), create or reuse a minimal token "
               "and report the day's token allowance.")

_PROBE_SCOPE = frozenset({Scope.BASIC.value})
"""The profile card's scope: the smallest token a session is sure to use."""
_OK, _FAIL, _INFO = "[ok]  ", "[FAIL]", "[--]  "
_ALWAYS_SHOWN = frozenset({"b2b_api_url", "tenant_hash", "oauth_key_secret", "token_policy", "token_daily_limit",
                           "state_dir", "redact_pii", "tools", "resources"})
_DOCTOR = re.compile(r"\s*(?:\(\s*run `cdp-mcp doctor`\s*\)|[;,]?\s*(?:or )?run `cdp-mcp doctor`)")
"""Advice to run doctor, which doctor's own report must not give."""


@dataclass
class Report:
    """The lines printed so far and how many checks failed."""

    failures: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.failures > 0

    def ok(self, text: str) -> None:
        self._emit(f"  {_OK} {text}")

    def info(self, text: str) -> None:
        self._emit(f"  {_INFO} {text}")

    def fail(self, text: str, fix: str = "") -> None:
        self.failures += 1
        fix = _DOCTOR.sub("", fix).strip()
        self._emit(f"  {_FAIL} {text}" + (f"\n         fix: {fix}" if fix else ""))

    def section(self, title: str) -> None:
        self._emit(title)

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


@dataclass
class Checkup:
    """What the checks share: the settings, the report, and the backend once a check needed it."""

    settings: Settings
    report: Report
    backend: Backend | None = None


@dataclass(frozen=True)
class Check:
    """One section of the report (a check without a title prints its own sections, if any). `run` returns False
    when the checks after it cannot be meaningful."""

    title: str
    run: Callable[[Checkup], Awaitable[bool]]
    needs_backend: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # doctor checks what the environment configures


def _shown(value: object) -> str:
    """A setting's value as the report shows it: a secret only as `set`."""
    if isinstance(value, SecretStr):
        return "set"
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def redacted_settings(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as (CDP_NAME, shown value): a secret is only `set` or `not set`."""
    return [(setting.env, _shown(settings.value(setting.key))) for setting in SETTINGS]


def _wrapped(value: str) -> bool:
    """Spaces or a pair of quotes around a value: a copy-paste slip, never part of a tenant hash or secret."""
    return value != value.strip() or (len(value) > 1 and value[0] == value[-1] and value[0] in "\"'")


async def check_configuration(checkup: Checkup) -> bool:
    settings, report = checkup.settings, checkup.report
    for setting, (env, shown) in zip(SETTINGS, redacted_settings(settings), strict=True):
        if setting.key in _ALWAYS_SHOWN or settings.is_given(setting.key):
            report.info(f"{env} = {shown}")
    if settings.api.uses_sandbox:
        report.ok("CDP_B2B_API_URL is not set: the embedded sandbox answers, with synthetic customers")
    else:
        report.ok(f"API at {settings.api.b2b_api_url} with a tenant hash")
    for key in ("tenant_hash", "oauth_key_secret"):
        env, secret = env_name(key), settings.value(key)
        if secret is not None and _wrapped(secret.get_secret_value()):
            report.fail(f"{env} starts or ends with a space or a quote, which the API would receive as part of it",
                        f"set {env} to the value alone, without quotes or spaces around it.")
    if settings.sign_in.enabled:
        report.info("`serve --transport http` may serve on any address: people sign in with OAuth "
                    "(CDP_MCP_OAUTH_ISSUER; checked below)")
    elif settings.http.mcp_auth_token is None:
        report.info("CDP_MCP_AUTH_TOKEN is not set: `serve --transport http` serves on loopback only")
    elif len(settings.http.mcp_auth_token.get_secret_value().strip()) < MIN_TOKEN_LENGTH:
        report.fail(f"CDP_MCP_AUTH_TOKEN is shorter than the {MIN_TOKEN_LENGTH} characters cdp-mcp requires of it",
                    "use a long random value: python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
    return True


async def check_state_dir(checkup: Checkup) -> bool:
    state_dir = checkup.settings.state.state_dir

    def probe() -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=state_dir):
            pass

    try:
        await anyio.to_thread.run_sync(probe)
    except OSError as exc:
        checkup.report.fail(f"{state_dir} is not writable ({exc.strerror or exc})",
                            "set CDP_STATE_DIR to a directory this user can write (token cache, creation ledger, "
                            "sandbox data).")
        return False
    checkup.report.ok(f"{state_dir} is writable (token cache, creation ledger, sandbox data)")
    return True


def _where(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


async def check_reachable(checkup: Checkup) -> bool:
    settings, report = checkup.settings, checkup.report
    if settings.api.b2b_api_url is None:
        report.ok("the embedded sandbox runs in this process: nothing to reach")
        return True
    urls = {"CDP_B2B_API_URL": settings.api.b2b_api_url}
    if settings.api.token_api_url is not None and settings.api.token_api_url != settings.api.b2b_api_url:
        urls["CDP_TOKEN_API_URL"] = settings.api.token_api_url
    results = [await _reach(settings, report, env, url) for env, url in urls.items()]
    return all(results)


async def _reach(settings: Settings, report: Report, env: str, url: str) -> bool:
    """Whether a server at `url` accepts connections (the status of a bare GET says nothing about the API)."""
    where, scheme = _where(url), urlsplit(url).scheme.upper()
    started = time.perf_counter()
    try:
        async with make_http_client(settings, base_url=url) as http:
            response = await http.get("")
    except httpx2.TimeoutException:
        report.fail(f"{where} ({env}) did not answer within {settings.requests.connect_timeout:g} s",
                    f"check the host in {env} and any proxy or firewall on the way; on a slow link raise "
                    "CDP_CONNECT_TIMEOUT.")
        return False
    except httpx2.TransportError as exc:
        detail = str(exc) or type(exc).__name__
        report.fail(f"cannot connect to {where} ({env}) over {scheme}: {detail}",
                    f"check the host and port in {env}, DNS, and any proxy or firewall on the way.")
        return False
    elapsed = (time.perf_counter() - started) * 1000
    report.ok(f"{where} ({env}) accepts {scheme} connections (a server answered in {elapsed:.0f} ms)")
    if response.status_code >= 500:
        report.info(f"that server answered a plain GET with HTTP {response.status_code}: it may be down or in "
                    "maintenance; the token check below tells whether the API works")
    return True


def _credentials_fix(error: AuthenticationError, settings: Settings) -> str:
    """The fix for the credential the API's answer named (its error code, else its message), never a guess."""
    host = settings.api.b2b_api_url or "the sandbox"
    tenant = f"CDP_TENANT_HASH: copy it again from your account team, and check that it belongs to {host}"
    secret = ("the tenant enables OAuth for the B2B APIs: set CDP_OAUTH_KEY_SECRET to the key secret from your "
              "account team" if settings.api.oauth_key_secret is None
              else "CDP_OAUTH_KEY_SECRET is not the tenant's: copy it again from your account team")
    if error.setting == "CDP_TENANT_HASH":
        return f"the API does not know this tenant: check {tenant}."
    if error.setting == "CDP_OAUTH_KEY_SECRET":
        return f"{secret}."
    return f"the API did not say which credential it refused: check {tenant}; if it is right, {secret}."


async def check_token(checkup: Checkup) -> bool:
    backend, report = checkup.backend, checkup.report
    assert backend is not None
    scope = ", ".join(sorted(_PROBE_SCOPE))
    before = backend.broker.stats.as_dict()
    try:
        await backend.broker.acquire(_PROBE_SCOPE)
    except AuthenticationError as exc:
        report.fail(f"the API refused to create a token for scope {scope}: {exc.message}",
                    _credentials_fix(exc, checkup.settings))
        return False
    except CdpError as exc:
        report.fail(f"no token for scope {scope}: {exc.message}", exc.hint)
        return False
    after = backend.broker.stats.as_dict()
    how = next((k for k in ("created", "updated", "rescoped", "reused") if after[k] > before[k]), "obtained")
    if how == "created":
        report.ok(f"created a token for scope {scope}: the API accepts the tenant credentials")
    elif how == "reused":
        report.ok(f"reused a live token for scope {scope} from the token cache (no creation spent; the credentials "
                  "were checked when it was created and are checked again at the next creation)")
    else:
        report.ok(f"{how} the cached token for scope {scope} with the API's update call (no creation spent)")
    return True


async def check_allowance(checkup: Checkup) -> bool:
    backend, report = checkup.backend, checkup.report
    assert backend is not None
    allowance = await backend.broker.allowance()
    line = f"{allowance.remaining} of {allowance.limit} creations left ({allowance.used} used)"
    if allowance.next_free_at is not None:
        line += f"; the next frees up at {allowance.next_free_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if allowance.remaining == 0:
        report.fail(line, "wait, or ask the vendor to raise the limit (then set CDP_TOKEN_DAILY_LIMIT); "
                          "CDP_TOKEN_POLICY=shared needs fewer creations.")
    elif allowance.remaining <= max(1, allowance.limit // 10):
        report.info(line + " (running low)")
    else:
        report.ok(line)
    return True


async def check_team(checkup: Checkup) -> bool:
    """Sign-in (OAuth) and Redis, when configured: doctor_deployment.py writes those sections."""
    await check_deployment(checkup.settings, checkup.report)
    return True


CHECKS: list[Check] = [
    Check("Configuration", check_configuration),
    Check("", check_team),
    Check("State directory", check_state_dir),
    Check("Connectivity", check_reachable),
    Check("Token", check_token, needs_backend=True),
    Check("Token allowance (rolling 24 hours)", check_allowance, needs_backend=True),
]
"""The report's sections, in order."""


async def _diagnose(settings: Settings, checks: list[Check]) -> Report:
    checkup = Checkup(settings=settings, report=Report())
    print(f"cdp-mcp doctor · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    async with AsyncExitStack() as stack:
        for check in checks:
            if check.title:
                checkup.report.section(check.title)
            try:
                if check.needs_backend and checkup.backend is None:
                    checkup.backend = await stack.enter_async_context(open_backend(settings, keep_alive=False))
                if not await check.run(checkup):
                    break
            except CdpError as exc:
                checkup.report.fail(exc.message, exc.hint)
                break
    return checkup.report


def run(args: argparse.Namespace) -> int:
    del args
    settings = load_settings(quiet=True)
    report = anyio.run(_diagnose, settings, CHECKS)
    if report.failed:
        count = f"{report.failures} check{'s' if report.failures > 1 else ''}"
        print(f"{count} failed: do what the lines marked [FAIL] say, then run this command again.")
        return EXIT_FAILURE
    print("All checks passed: `cdp-mcp serve` is ready for your MCP host (`cdp-mcp config HOST` prints its entry).")
    return 0
