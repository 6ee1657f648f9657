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
cost 0.2 ms a call, nearly all of what team mode added; opening and closing the file still run in a worker thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from cdp_mcp.client.identity import CustomerIdentity

if TYPE_CHECKING:
    from cdp_mcp.settings import Settings

__all__ = ["AUDIT_FILE", "KEY_FILE", "AuditTrail", "audit_destination", "identifier_hashes"]

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


def _key(settings: Settings) -> bytes:
    """CDP_AUDIT_KEY, else the key kept in the state directory (created once, 0600)."""
    if settings.audit.audit_key is not None:
        return settings.audit.audit_key.get_secret_value().encode()
    path = settings.state.state_dir / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another replica on this machine made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


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
        self.key = b""

    def __repr__(self) -> str:
        return f"AuditTrail({str(self.destination) if self.destination else 'off'})"

    @property
    def enabled(self) -> bool:
        return self.destination is not None

    async def open(self) -> None:
        """Create the file (and key) now, so a bad CDP_AUDIT_LOG stops start-up instead of the first call."""
        if self.destination is None:
            return
        self.key = await anyio.to_thread.run_sync(_key, self._settings)
        if isinstance(self.destination, Path):
            self._fd = await anyio.to_thread.run_sync(_open_private, self.destination)
        logger.info("Audit trail: %s", "stderr" if self.destination == _STDERR else self.destination)

    def write(self, entry: dict[str, Any]) -> None:
        """One line, written whole and at once (no await: a cancelled call is still recorded)."""
        if self.destination is None:
            return
        if not self.key:  # hashes under an empty key could never be searched for: a wiring mistake, not a call's
            raise RuntimeError("AuditTrail.write before open(): enter CallGuard.running() first")
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"
        if self._fd is None:
            sys.stderr.write(line)
            sys.stderr.flush()
            return
        os.write(self._fd, line.encode())  # O_APPEND: one write per line, never interleaved with another writer

    async def aclose(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            await anyio.to_thread.run_sync(os.close, fd)


def _open_private(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
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
