"""What every subcommand shares: logging on stderr, settings loading, and one way to fail.

Kept free of MCP and HTTP imports so the CLI starts fast. A failure the user can fix (a `CdpError`)
becomes its message and hint on stderr and an exit code, never a traceback: 2 for configuration,
1 for anything else anticipated. A crash keeps its traceback on stderr (exit 1), so it can be reported,
but every configured secret in a log line or traceback is replaced by `[secret]` first: a host keeps
server stderr in a log file, and an unexpected exception may quote what it was handed.

Log lines are text for people, or with CDP_LOG_FORMAT=json one JSON object a line for a log store: `time` (UTC,
ISO 8601), `level`, `logger`, `message`, and during a tool call its `request_id` and `principal`
(`call_context`), plus `exception` (the traceback) when there is one. Start-up lines and errors (`say`,
`report_error`) take the same form, so every line on stderr parses. Customer data is never logged, at any
level: the libraries that echo message bodies at DEBUG stay at WARNING.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from cdp_mcp import call_context
from cdp_mcp.errors import CdpError, ConfigurationError, path_failure
from cdp_mcp.settings import MCP_PATH, SETTINGS, LogFormat, Settings

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "HTTP_HOST",
    "HTTP_PORT",
    "configure_logging",
    "exit_code_for",
    "find_cdp_error",
    "load_settings",
    "mcp_url",
    "protect_secrets",
    "report",
    "report_error",
    "say",
]

EXIT_FAILURE = 1
EXIT_CONFIG = 2
_EXIT_INTERRUPTED = 130

HTTP_HOST = "127.0.0.1"
HTTP_PORT = 8000
"""Where `cdp-mcp serve --transport http` listens unless told otherwise (and where `config` entries point)."""

_NOISY_LOGGERS = ("httpx2", "httpcore", "mcp.server.lowlevel.server", "mcp.server.streamable_http")
"""Per-request INFO lines that drown a host's log; shown again at DEBUG."""
_BODY_LOGGERS = ("sse_starlette", "mcp.server.sse")
"""Library loggers that echo message bodies at DEBUG (the SSE library logs every response chunk: customer
profiles), kept at WARNING whatever CDP_LOG_LEVEL says: no customer data in logs at any level."""

logger = logging.getLogger(__name__)


class _StderrHandler(logging.StreamHandler[Any]):
    """Writes to whatever `sys.stderr` is at emit time (test harnesses swap it), never to stdout."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        del value


_SECRETS: set[str] = set()
_MASKED: list[re.Pattern[str]] = []  # one pattern of every secret, longest first, once there are any
_MASK = "[secret]"
_SHORT_SECRET = 8
"""A secret shorter than this is still masked, wherever it occurs, so log lines may lose ordinary letters."""


_UNMASKED = "cdp_unmasked"
"""A log record with this attribute set (`extra`) is written as it is: a message that names a setting, never its
value, yet would be garbled by masking a secret of a letter or two (the warning about such a secret)."""


def _scrub(text: str) -> str:
    return _MASKED[0].sub(_MASK, text) if _MASKED else text


class _ScrubbingFormatter(logging.Formatter):
    """The usual format, with every protected secret replaced, in the message and in the traceback alike."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if getattr(record, _UNMASKED, False) else _scrub(text)


def _json_line(level: str, name: str, message: str, *, created: float | None = None,
               more: dict[str, str] | None = None, masked: bool = True) -> str:
    """One log line as a JSON object: secrets masked in every text before encoding (escaping could hide them)."""
    scrub = _scrub if masked else str
    moment = datetime.fromtimestamp(created, UTC) if created is not None else datetime.now(UTC)
    entry = {"time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "level": level,
             "logger": name, "message": scrub(message)}
    call = call_context.current()
    if call is not None:
        entry["request_id"] = call.request_id
        if call.principal is not None:
            entry["principal"] = scrub(call.principal)
    entry |= {key: scrub(value) for key, value in (more or {}).items()}
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


class _JsonFormatter(logging.Formatter):
    """CDP_LOG_FORMAT=json: one object a line (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        more = {}
        if record.exc_info:
            more["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            more["stack"] = self.formatStack(record.stack_info)
        return _json_line(record.levelname, record.name, record.getMessage(), created=record.created, more=more,
                          masked=not getattr(record, _UNMASKED, False))


class _Output:
    """How this process writes its lines to stderr (configure_logging decides)."""

    json = False


def protect_secrets(settings: Settings) -> None:
    """Mask the settings' secrets (tenant hash, OAuth key secret, bearer token, ...) in everything logged.

    Every one, however short: a short secret masks ordinary text that happens to contain it, which is
    better than logging it, and start-up warns about it (naming the variable only).
    """
    for setting in SETTINGS:
        value = settings.value(setting.key)
        secret = value.get_secret_value().strip() if isinstance(value, SecretStr) else ""
        if not secret:
            continue
        _SECRETS.add(secret)
        # One pass, longest first: a secret inside another is masked with it, and no mask is masked again.
        _MASKED[:] = [re.compile("|".join(re.escape(s) for s in sorted(_SECRETS, key=len, reverse=True)))]
        if len(secret) < _SHORT_SECRET:  # names the variable only: not masked, or its own words would be
            logger.warning("%s is shorter than %d characters: easy to guess, and every log line masks "
                           "text that contains it", setting.env, _SHORT_SECRET, extra={_UNMASKED: True})


def configure_logging(level: str = "WARNING", log_format: LogFormat = "text") -> None:
    """Send log records to stderr (stdout belongs to the protocol) at `level`, as text or JSON; idempotent."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        root.addHandler(handler)
    _Output.json = log_format == "json"
    handler.setFormatter(_JsonFormatter() if _Output.json
                         else _ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.setLevel(level)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    for name in _BODY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def load_settings(*, quiet: bool = False, **overrides: Any) -> Settings:
    """`Settings.load()` with CLI overrides (None means "not given"), then apply its log level.

    Args:
        quiet: for interactive commands, log at WARNING unless CDP_LOG_LEVEL was set explicitly.
    """
    settings = Settings.load(**{k: v for k, v in overrides.items() if v is not None})
    level = settings.server.log_level
    if quiet and not settings.is_given("log_level"):
        level = "WARNING"
    configure_logging(level, settings.server.log_format)  # first: the warnings about short secrets go to stderr
    protect_secrets(settings)  # like every other line, in the same format
    return settings


def mcp_url(host: str = HTTP_HOST, port: int = HTTP_PORT) -> str:
    """The Streamable HTTP endpoint of `cdp-mcp serve --transport http --host HOST --port PORT`."""
    return f"http://[{host}]:{port}{MCP_PATH}" if ":" in host else f"http://{host}:{port}{MCP_PATH}"


def say(message: str) -> None:
    """A start-up or progress line for a person, on stderr (whatever the log level; a JSON object in JSON mode)."""
    line = _json_line("INFO", "cdp_mcp", message) if _Output.json else f"cdp-mcp: {message}"
    print(line, file=sys.stderr, flush=True)


def report(message: str, *, hint: str | None = None, code: str | None = None) -> None:
    """A failure a person can act on, and what to do, on stderr: no traceback (a JSON object in JSON mode)."""
    if _Output.json:
        more = ({"code": code} if code else {}) | ({"hint": hint} if hint else {})
        print(_json_line("ERROR", "cdp_mcp", message, more=more), file=sys.stderr, flush=True)
        return
    say(message)
    if hint:
        print(f"  hint: {hint}", file=sys.stderr, flush=True)


def report_error(error: CdpError) -> None:
    """The message and its hint on stderr, no traceback."""
    report(error.message, hint=error.hint, code=error.code)


def find_cdp_error(exc: BaseException | None) -> CdpError | None:
    """The anticipated error inside `exc`: itself, one in an exception group (task groups), or a cause.

    A file-system error naming a path (an unwritable CDP_STATE_DIR, typically) counts as anticipated too.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, CdpError):
            return exc
        if isinstance(exc, OSError) and exc.filename:
            return path_failure(exc)
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                found = find_cdp_error(inner)
                if found is not None:
                    return found
            return None
        exc = exc.__cause__ or exc.__context__
    return None


def exit_code_for(exc: BaseException) -> int:
    """Report `exc` the way a person can act on and return the process exit code."""
    error = find_cdp_error(exc)
    if error is not None:
        logger.debug("details", exc_info=exc)
        report_error(error)
        return EXIT_CONFIG if isinstance(error, ConfigurationError) else EXIT_FAILURE
    if isinstance(exc, KeyboardInterrupt) or (
        isinstance(exc, BaseExceptionGroup) and exc.subgroup(KeyboardInterrupt) is not None
    ):
        say("interrupted")
        return _EXIT_INTERRUPTED
    logger.error("cdp-mcp crashed; please report this with the traceback below", exc_info=exc)
    return EXIT_FAILURE
