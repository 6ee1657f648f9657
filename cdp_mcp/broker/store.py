"""Where the broker's state lives between restarts, shared safely by every process on the machine.

`TokenStore` is the seam: a lock-free `load` (a consistent snapshot), and `save` made only while holding
`locked(namespace)`, a cross-process exclusive lock the broker keeps across the token request it guards, so
two processes never both create a token for one scope. `FileTokenStore` keeps one JSON file per namespace
(mode 0600 in a 0700 directory, written atomically) guarded by a `filelock.FileLock`. `RedisTokenStore`
(redis_store.py) implements the same protocol for replicas on several machines.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread
import filelock

from cdp_mcp.broker.state import StoredState
from cdp_mcp.errors import TokenStoreError, TokenStoreLockedError

__all__ = [
    "FileTokenStore",
    "TokenStore",
    "decode_state",
    "encode_state",
    "namespace_for",
]

logger = logging.getLogger(__name__)

_LOCK_POLL = 0.02  # seconds between attempts on a contended lock (real time: another process holds it)


def namespace_for(base_url: str, tenant_hash: str) -> str:
    """The key of a tenant's state: a digest of base URL and tenant hash, never the tenant hash itself."""
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{tenant_hash}".encode()).hexdigest()[:32]


def encode_state(state: StoredState) -> str:
    """The persisted document of a namespace (JSON; it holds tokens, so it never goes to a log)."""
    return json.dumps(state.to_json(), indent=1)


def decode_state(data: bytes, *, where: str) -> StoredState:
    """Parse a persisted document; an unreadable one is logged (by `where`, never its contents) and read as empty:
    starting empty costs creations, not correctness."""
    try:
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict):
            raise TypeError("not a JSON object")
        return StoredState.from_json(raw)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # UnicodeDecodeError is a ValueError
        logger.warning("Ignoring unreadable token state %s (%s)", where, type(exc).__name__)
        return StoredState()


class TokenStore(Protocol):
    """Persisted broker state per namespace, and the cross-process lock that serialises changes to it."""

    async def load(self, namespace: str) -> StoredState:
        """A snapshot of the namespace's state (empty when none was saved); safe without the lock."""
        ...

    async def save(self, namespace: str, state: StoredState) -> None:
        """Replace the namespace's state atomically. Call only inside `locked(namespace)`."""
        ...

    def locked(self, namespace: str) -> AbstractAsyncContextManager[None]:
        """Hold the namespace's exclusive lock, across tasks, processes (and, for a shared store, machines)."""
        ...

    async def aclose(self) -> None: ...


class FileTokenStore:
    """One JSON file per namespace under `state_dir/tokens/`: 0600 files, atomic replace, a file lock."""

    def __init__(self, state_dir: Path, *, lock_timeout: float = 120.0) -> None:
        self._dir = Path(state_dir) / "tokens"
        self._lock_timeout = lock_timeout
        self._local: dict[str, anyio.Lock] = {}
        self._file_locks: dict[str, filelock.FileLock] = {}

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self._dir)!r})"

    @property
    def directory(self) -> Path:
        return self._dir

    def path_for(self, namespace: str) -> Path:
        """The state file of a namespace (named by a digest, whatever the namespace string holds)."""
        return self._dir / f"state-{self._digest(namespace)}.json"

    @staticmethod
    def _digest(namespace: str) -> str:
        return hashlib.sha256(namespace.encode()).hexdigest()[:24]

    async def load(self, namespace: str) -> StoredState:
        try:
            return await anyio.to_thread.run_sync(self._read, self.path_for(namespace))
        except OSError as exc:
            raise self._failed("read", exc) from exc

    async def save(self, namespace: str, state: StoredState) -> None:
        document = encode_state(state)
        try:
            await anyio.to_thread.run_sync(self._write, self.path_for(namespace), document)
        except OSError as exc:
            raise self._failed("write", exc) from exc

    def _failed(self, what: str, exc: OSError) -> TokenStoreError:
        return TokenStoreError(
            f"Cannot {what} the token state in {self._dir} ({exc.strerror or type(exc).__name__}).",
            hint="Set CDP_STATE_DIR to a directory this user can write; tokens and the creation ledger live there.",
        )

    @asynccontextmanager
    async def locked(self, namespace: str) -> AsyncIterator[None]:
        local = self._local.setdefault(namespace, anyio.Lock())
        async with local:  # one holder per store instance; the file lock then excludes everyone else
            lock = self._file_lock(namespace)
            await self._acquire(lock)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(lock.release)

    async def aclose(self) -> None:
        self._file_locks.clear()

    def _file_lock(self, namespace: str) -> filelock.FileLock:
        lock = self._file_locks.get(namespace)
        if lock is None:
            path = self._dir / f"state-{self._digest(namespace)}.lock"
            lock = filelock.FileLock(path, mode=0o600, thread_local=False)
            self._file_locks[namespace] = lock
        return lock

    async def _acquire(self, lock: filelock.FileLock) -> None:
        """Try the lock without blocking a thread, so waiting stays cancellable; give up after the timeout."""
        deadline = anyio.current_time() + self._lock_timeout
        while True:
            with anyio.CancelScope(shield=True):  # an attempt that got the lock must not be lost to a cancel
                try:
                    got = await anyio.to_thread.run_sync(self._try_acquire, lock)
                except OSError as exc:
                    raise self._failed("lock", exc) from exc
            if got:
                return
            if anyio.current_time() >= deadline:
                raise TokenStoreLockedError(
                    f"The token state has been locked by another cdp-mcp process for {self._lock_timeout:.0f} s.",
                    hint="That process may be hung (a slow token API, or stopped): retry, or stop it. Do not delete "
                         "the .lock files: the lock dies with its process, and deleting it breaks the exclusion.",
                )
            await anyio.sleep(_LOCK_POLL)

    def _try_acquire(self, lock: filelock.FileLock) -> bool:
        self._ensure_dir()
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        return True

    def _ensure_dir(self) -> None:
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._dir.stat().st_mode & 0o077:
            os.chmod(self._dir, 0o700)

    def _read(self, path: Path) -> StoredState:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return StoredState()
        return decode_state(data, where=f"file {path.name}")

    def _write(self, path: Path, document: str) -> None:
        self._ensure_dir()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(document)
                handle.flush()
                os.fsync(handle.fileno())  # the rename must not publish a file whose data a crash can still lose
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
