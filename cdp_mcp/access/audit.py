"""The audit trail: one JSON line per tool call saying who read what about which customer, and how it ended.

A line holds: `time` (UTC, ISO 8601), `principal` (the person, by CDP_MCP_OAUTH_PRINCIPAL_CLAIM; a machine
token's `client:<client id>`; `static-token` or `local` without sign-in), `client_id`, `tool`, `resources`
(the API resources requested), `gcr_id` (or `gcr_ids` for a screening), `identifiers` (the kinds of
identifier the caller sent, each with a keyed hash, never the value), `redacted` (whether contact details were
masked), `outcome` (`ok` or the error code), `duration_ms`,
`request_id` (also in the error a model sees for an unexpected failure) and `transport`.

The hash is HMAC-SHA256 under CDP_AUDIT_KEY (else a random key kept in CDP_STATE_DIR/audit.key), cut to
16 hex digits: an operator answering "who looked up this email?" computes it with `python -m
cdp_mcp.access.audit email ada@example.com` and searches for it; nobody can reverse it without the key.
Replicas on several machines need the same CDP_AUDIT_KEY for their hashes to match.

CDP_AUDIT_LOG: a file path (created 0600, appended, one write per line, so every line is on disk as soon
as the call ends, and replicas may share a file), `-` for stderr, `off`. Default: CDP_STATE_DIR/audit.jsonl
with OAuth sign-in, off otherwise. A line (about 300 bytes) is appended synchronously, before the call's result
returns: one `write(2)` to a local file lands in the page cache in microseconds, where a hop to a worker thread
cost 0.2 ms a call, nearly all of what team mode added; opening and closing the file run in a worker thread
(except a reopen after rotation, done in line before the next write).

Rotation: before each line the file at the path is compared with the one open (a `stat` and an `fstat`, each a
microsecond); moved away or replaced (logrotate), it is reopened at the path, and `request_reopen()` (what
`cdp-mcp serve` does on SIGHUP) reopens it before the next line whatever it finds. A file truncated in place
(copytruncate) needs nothing: lines are appended at its new end. A path that cannot be opened stops start-up
(`ConfigurationError` naming CDP_AUDIT_LOG); a line that cannot be written refuses its call
(`AuditUnavailableError`: no customer data is returned unaudited), is counted in the metrics
(`cdp_mcp_audit_write_failures_total`) and marks the trail failing (`failure`, which /healthz reports) until a
line is written again or `recheck()` finds the path writable. `problem()` is /readyz's check: it also finds a path
that could not be appended to before any call fails on it.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import stat
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from cdp_mcp import metrics
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.errors import AuditUnavailableError, ConfigurationError
from cdp_mcp.keyfile import setting_or_kept

if TYPE_CHECKING:
    from cdp_mcp.settings import Settings

__all__ = ["AUDIT_FILE", "KEY_FILE", "AuditTrail", "audit_destination", "ensure_writable", "identifier_hashes",
           "request_reopen"]

logger = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"
KEY_FILE = "audit.key"
_STDERR = "-"
_OFF = "off"


def audit_destination(settings: Settings) -> Path | str | None:
    """Where lines go: a path, `-` (stderr), or None (off)."""
    value = (settings.audit.audit_log or "").strip()
    if not value:
        return settings.state.state_dir / AUDIT_FILE if settings.sign_in.enabled else None
    if value.lower() == _OFF:
        return None
    return _STDERR if value == _STDERR else Path(value).expanduser()


class _Reopens:
    """How many times a reopen was asked for in this process (SIGHUP): each trail compares it with what it saw."""

    count = 0


def request_reopen() -> None:
    """Reopen every audit file before its next line (the SIGHUP handler `cdp-mcp serve` installs; safe in one)."""
    _Reopens.count += 1


def ensure_writable(settings: Settings) -> None:
    """Open (create 0600) the audit file CDP_AUDIT_LOG names, and close it: a start-up check, before serving.

    Raises:
        ConfigurationError: it cannot be opened for appending (the message names CDP_AUDIT_LOG and why).
    """
    destination = audit_destination(settings)
    if isinstance(destination, Path):
        os.close(_open_checked(destination))


def _open_checked(path: Path) -> int:
    try:
        return _open_private(path)
    except OSError as exc:
        raise ConfigurationError(f"CDP_AUDIT_LOG cannot be written: {exc.strerror or type(exc).__name__} "
                                 f"({exc.filename or path}).",
                                 hint="Set CDP_AUDIT_LOG to a file this process can create and append to, `-` for "
                                      "stderr, or `off`.") from None


def _reason(exc: OSError) -> str:
    """Why a write failed, without the path: an errno name (ENOSPC, EISDIR...) or the exception's type."""
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def _key(settings: Settings) -> bytes:
    """CDP_AUDIT_KEY, else the key kept in the state directory (created once, 0600)."""
    return setting_or_kept(settings.audit.audit_key, settings.state.state_dir / KEY_FILE)


def identifier_hashes(key: bytes, identity: CustomerIdentity) -> dict[str, str]:
    """Each identifier the caller sent: its kind and a keyed hash of its normalised value (gcr_id as is)."""
    out: dict[str, str] = {}
    for kind in identity.present():
        value = str(getattr(identity, kind))
        out[kind] = value if kind == "gcr_id" else _digest(key, kind, value)
    return out


def _digest(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]


class AuditTrail:
    """Writes audit lines to a file (0600, appended) or stderr; `open()` (CallGuard.running) before the first line."""

    def __init__(self, destination: Path | str | None, settings: Settings) -> None:
        self.destination = destination
        self._settings = settings
        self._fd: int | None = None
        self._reopens = _Reopens.count
        self._lock = threading.Lock()  # a write runs on the event loop, a recheck's reopen in a worker thread
        self.key = b""
        self.failure: str | None = None
        """Why the last line could not be written (an errno name), None while lines are written."""

    def __repr__(self) -> str:
        return f"AuditTrail({str(self.destination) if self.destination else 'off'})"

    @property
    def enabled(self) -> bool:
        return self.destination is not None

    async def open(self) -> None:
        """Create the file (and key) now, so a bad CDP_AUDIT_LOG stops start-up instead of the first call.

        Raises:
            ConfigurationError: the file cannot be opened for appending (naming CDP_AUDIT_LOG).
        """
        if self.destination is None:
            return
        self.key = await anyio.to_thread.run_sync(_key, self._settings)
        if isinstance(self.destination, Path):
            self._fd = await anyio.to_thread.run_sync(_open_checked, self.destination)
        logger.info("Audit trail: %s", "stderr" if self.destination == _STDERR else self.destination)

    def write(self, entry: dict[str, Any]) -> None:
        """One line, written whole and at once (no await: a cancelled call is still recorded).

        Raises:
            AuditUnavailableError: the line could not be written (the call must be refused); `failure` says why.
        """
        if self.destination is None:
            return
        if not self.key:  # hashes under an empty key could never be searched for: a wiring mistake, not a call's
            raise RuntimeError("AuditTrail.write before open(): enter CallGuard.running() first")
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"
        try:
            self._emit(line)
        except OSError as exc:
            metrics.audit_write_failed()
            if self.failure is None:
                logger.error("Audit trail %s cannot be written (%s): refusing calls until it can", self.destination,
                             _reason(exc))
            self.failure = _reason(exc)
            raise AuditUnavailableError from None
        if self.failure is not None:
            logger.warning("Audit trail %s is written again", self.destination)
            self.failure = None

    async def problem(self) -> str | None:
        """For /readyz: why a line could not be written now (an errno name), or None (off, on stderr, writable).
        After a failed write, `recheck` reopens the file; either way the path is then probed as a write meets it:
        opened for appending, with room on its file system."""
        path = self.destination
        if not isinstance(path, Path):
            return None
        if self.failure is not None and await self.recheck() is not None:
            return self.failure
        try:
            await anyio.to_thread.run_sync(_probe, path)
        except OSError as exc:
            return _reason(exc)
        return None

    async def recheck(self) -> str | None:
        """After a failure, reopen the file: the reason it still fails, or None (the trail is writable again)."""
        path = self.destination
        if self.failure is None or not isinstance(path, Path):
            return self.failure
        try:
            await anyio.to_thread.run_sync(self._reopen, path, "to check it")
        except OSError as exc:
            self.failure = _reason(exc)
        else:
            logger.warning("Audit trail %s can be opened again", path)
            self.failure = None
        return self.failure

    def _emit(self, line: str) -> None:
        path = self.destination
        if not isinstance(path, Path):
            sys.stderr.write(line)
            sys.stderr.flush()
            return
        with self._lock:
            fd = self._fd
            if self._reopens != _Reopens.count:
                self._reopens = _Reopens.count
                fd = self._reopen(path, "as asked (SIGHUP)", locked=True)
            elif fd is None or self._moved(fd, path):
                fd = self._reopen(path, "the file was moved or replaced", locked=True)
            os.write(fd, line.encode())  # O_APPEND: one write per line, never interleaved with another writer

    @staticmethod
    def _moved(fd: int, path: Path) -> bool:
        try:
            at_path = os.stat(path)
        except FileNotFoundError:
            return True
        held = os.fstat(fd)
        return (at_path.st_dev, at_path.st_ino) != (held.st_dev, held.st_ino)

    def _reopen(self, path: Path, why: str, *, locked: bool = False) -> int:
        """Close the file held and open the one at `path` (raises OSError, leaving none held)."""
        if not locked:
            with self._lock:
                return self._reopen(path, why, locked=True)
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        self._fd = _open_private(path)
        logger.info("Audit trail reopened: %s (%s)", path, why)
        return self._fd

    async def aclose(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            await anyio.to_thread.run_sync(os.close, fd)


def _probe(path: Path) -> None:
    """Open (create) the file at `path` for appending as the trail does, and see room on its file system; raises
    OSError (ENOSPC when full) if a line could not be written."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if os.fstatvfs(fd).f_bavail == 0:
            raise OSError(errno.ENOSPC, "no space left on the audit trail's file system")
    finally:
        os.close(fd)


def _open_private(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:  # a device or pipe is not ours to change
        os.fchmod(fd, 0o600)  # an existing file readable by others: personal data access is itself personal data
        logger.warning("Audit log %s was readable by other users; made it 0600", path)
    return fd


def _main(argv: list[str]) -> int:
    """`python -m cdp_mcp.access.audit KIND VALUE`: the hash a line would carry for that identifier."""
    from cdp_mcp.settings import Settings  # noqa: PLC0415 - reads the environment only when run

    if len(argv) != 2 or argv[0] not in ("email", "mobile", "customer_code"):
        print("usage: python -m cdp_mcp.access.audit email|mobile|customer_code VALUE", file=sys.stderr)
        return 2
    settings = Settings.load()
    if settings.audit.audit_key is None and not (settings.state.state_dir / KEY_FILE).exists():
        print(f"no audit key: set CDP_AUDIT_KEY or CDP_STATE_DIR as the server has them "
              f"(looked for {settings.state.state_dir / KEY_FILE})", file=sys.stderr)
        return 2
    identity = CustomerIdentity.parse(**{argv[0]: argv[1]})
    print(identifier_hashes(_key(settings), identity)[argv[0]])
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
