"""Secret keys a setting gives, or else one made once and kept in the state directory (0600).

The audit trail's identifier hashes (CDP_AUDIT_KEY, `audit.key`) and the sealed list cursors (CDP_MCP_CURSOR_KEY,
`cursor.key`) both need a key that outlives a restart: processes sharing a state directory share the kept one;
replicas on several machines are given the same value through the setting. Blocking file I/O: call it from a
worker thread.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

__all__ = ["CURSOR_KEY_FILE", "setting_or_kept"]

CURSOR_KEY_FILE = "cursor.key"
"""The key that seals list cursors, in CDP_STATE_DIR, when CDP_MCP_CURSOR_KEY is not set."""


def setting_or_kept(setting: SecretStr | None, path: Path) -> bytes:
    """The setting's value, else the key kept at `path` (made once: 32 random bytes as hex, 0600)."""
    if setting is not None:
        return setting.get_secret_value().encode()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process on this machine made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key
