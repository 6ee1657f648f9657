"""SQLite store of one sandbox tenant: build or reuse the database file, then answer parameterised queries.

Every method is blocking and meant for a worker thread (`anyio.to_thread.run_sync`). The store owns a fixed pool
of connections (`POOL_SIZE`, WAL mode, so readers never block each other or the token writer): a thread borrows
one for each statement or transaction and gives it back, so the number of open connections and file descriptors
is bounded however many worker threads come and go (anyio retires idle threads after 10 s and starts new ones),
and `close()` closes them all. Token writes are serialised by a lock and run in `BEGIN IMMEDIATE` transactions,
so the daily-limit check and the insert are atomic.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cdp_mcp.sandbox import generator as _generator_module
from cdp_mcp.sandbox import options as _options_module
from cdp_mcp.sandbox import resources as _resources_package
from cdp_mcp.sandbox import schema as _schema_module
from cdp_mcp.sandbox import seed as _seed_module
from cdp_mcp.sandbox import seed_data as _seed_data_module
from cdp_mcp.sandbox.resources import OWN_DATA
from cdp_mcp.sandbox.schema import INDEXES, SCHEMA, SCHEMA_VERSION
from cdp_mcp.sandbox.seed import seed_database
from cdp_mcp.sqlite_transaction import immediate_transaction

__all__ = ["GENERATOR", "POOL_SIZE", "Store", "TokenRow", "template_path"]

logger = logging.getLogger(__name__)

_MAX_INTEGER = 2**63 - 1
"""SQLite's largest INTEGER; a gcrId beyond it names nobody (and would not bind as a parameter)."""

POOL_SIZE = 4
"""Connections one store keeps open at most: lookups take 0.01-0.06 ms, so a few serve any number of threads."""

TokenRow = tuple[str, str, int, str]
"""(tenant, resources as comma-separated names, validity, expires_at ISO)."""


def _fingerprint() -> str:
    """Changes whenever the schema or the generator's code changes, so stale databases are rebuilt, not reused.

    A resource's own data is declared beside its view, so every module of `sandbox/resources/` counts only when
    some resource brings its own data (the shared tenant does not change with a view)."""
    digest = hashlib.sha256(str(SCHEMA_VERSION).encode())
    for module in (_schema_module, _seed_module, _generator_module, _seed_data_module, _options_module):
        digest.update(Path(str(module.__file__)).read_bytes())
    if OWN_DATA:
        for source in sorted(Path(str(_resources_package.__file__)).parent.glob("*.py")):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


GENERATOR = _fingerprint()


def template_path(seed: int, customers: int) -> Path:
    """Where a pristine database for (seed, size) is cached, so private sandboxes copy instead of seeding."""
    return Path(tempfile.gettempdir()) / "cdp-mcp-sandbox-cache" / f"{GENERATOR}-s{seed}-n{customers}.sqlite"


def _meta(path: Path) -> dict[str, str]:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error:
        return {}


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")


def _build(path: Path, seed: int, customers: int) -> None:
    """Seed into a scratch file in one transaction, then move it into place atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f"{path.name}.{uuid.uuid4().hex}.building")
    try:
        with contextlib.closing(sqlite3.connect(scratch, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.executescript(SCHEMA + "".join(data.tables for data in OWN_DATA.values()))
            conn.execute("BEGIN")
            seed_database(conn, seed=seed, customers=customers, own=OWN_DATA)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("generator", GENERATOR), ("seed", str(seed)), ("customers", str(customers))])
            conn.execute("COMMIT")
            conn.executescript(INDEXES)
            conn.execute("ANALYZE")
        os.replace(scratch, path)
    finally:
        _remove(scratch)


def _foreign(path: Path) -> bool:
    """A non-empty file that a sandbox did not build: a user's file that `--db` must not destroy."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    return size > 0 and "generator" not in _meta(path)


def _prune_stale_templates(cache: Path) -> None:
    """Delete cached templates of older generator versions (each code change would otherwise leave one behind)."""
    for stale in cache.glob("*.sqlite"):
        if not stale.name.startswith(f"{GENERATOR}-"):
            _remove(stale)


def _matches(path: Path, seed: int, customers: int) -> bool:
    meta = _meta(path)
    return meta.get("generator") == GENERATOR and meta.get("seed") == str(seed) \
        and meta.get("customers") == str(customers)


class Store:
    """The database of one tenant. Open with `Store.open` (blocking: call it in a worker thread)."""

    def __init__(self, path: Path, *, private_dir: Path | None = None) -> None:
        self.path = path
        self._private_dir = private_dir
        self._idle: list[sqlite3.Connection] = []
        self._opened = 0
        self._closed = False
        self._lock = threading.Lock()
        self._free = threading.BoundedSemaphore(POOL_SIZE)
        self._write_lock = threading.Lock()
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")

    @classmethod
    def open(cls, *, seed: int, customers: int, db_path: Path | None = None) -> Store:
        """Reuse `db_path` when it holds this seed and size, else (re)build it; None: a private copy.

        Raises:
            FileExistsError: `db_path` is a non-empty file that is not a sandbox database (never overwritten).
        """
        if db_path is not None:
            if _foreign(db_path):
                raise FileExistsError(f"{db_path} exists and is not a cdp-mcp sandbox database; refusing to replace "
                                      "it. Choose another --db path or delete the file.")
            if not _matches(db_path, seed, customers):
                logger.info("seeding sandbox database %s (%d customers, seed %d)", db_path, customers, seed)
                _remove(db_path)
                _build(db_path, seed, customers)
            return cls(db_path)
        template = template_path(seed, customers)
        if not _matches(template, seed, customers):
            logger.info("seeding sandbox template %s (%d customers, seed %d)", template, customers, seed)
            _build(template, seed, customers)
            _prune_stale_templates(template.parent)
        private_dir = Path(tempfile.mkdtemp(prefix="cdp-mcp-sandbox-"))
        private = private_dir / "sandbox.sqlite"
        shutil.copyfile(template, private)
        return cls(private, private_dir=private_dir)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow a pooled connection (opened on first need, at most POOL_SIZE in all); waits while all are lent."""
        with self._free:
            with self._lock:
                if self._closed:
                    raise sqlite3.ProgrammingError(f"{self!r} is closed")
                conn = self._idle.pop() if self._idle else None
                if conn is None:
                    self._opened += 1
            if conn is None:
                try:
                    conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
                    conn.execute("PRAGMA busy_timeout=10000")
                except BaseException:
                    with self._lock:
                        self._opened -= 1
                    raise
            try:
                yield conn
            finally:
                self._give_back(conn)

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._closed:  # closed while lent: the borrower closes it
                conn.close()
                self._opened -= 1
            else:
                self._idle.append(conn)

    @property
    def open_connections(self) -> int:
        """Connections open now (idle or lent): never more than POOL_SIZE."""
        with self._lock:
            return self._opened

    def close(self) -> None:
        """Close every pooled connection (a lent one when it comes back); delete a private database."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
        for conn in idle:
            conn.close()
        if self._private_dir is not None:
            shutil.rmtree(self._private_dir, ignore_errors=True)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one parameterised read and return all rows (ground truth for tests, too)."""
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self._connection() as conn:
            row = conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def meta(self) -> dict[str, str]:
        return dict(self.query("SELECT key, value FROM meta"))

    # --- identity -------------------------------------------------------------------------------------
    def matches(self, kind: str, value: str | int) -> set[int]:
        """Customers an identifier names: kind is gcr, email, mobile or code (values already normalised)."""
        if kind == "gcr":
            if not isinstance(value, int) or not 0 < value <= _MAX_INTEGER:
                return set()
            return {r[0] for r in self.query("SELECT gcr_id FROM customers WHERE gcr_id = ?", (value,))}
        return {r[0] for r in self.query("SELECT gcr_id FROM identifiers WHERE kind = ? AND value = ?", (kind, value))}

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One serialised `BEGIN IMMEDIATE` transaction: committed on exit, rolled back on any exception."""
        with self._write_lock, self._connection() as conn, immediate_transaction(conn):
            yield conn

    # --- tokens ---------------------------------------------------------------------------------------
    def create_token(self, *, tenant: str, token: str, resources: str, validity: int, created_at: str,
                     expires_at: str, day: str, daily_limit: int) -> int | None:
        """Insert a token and its ledger entry unless the day's creations reached the limit.

        Returns the number of creations that day (including this one), or None when the limit refused it.
        """
        with self._writing() as conn:
            count = conn.execute("SELECT COUNT(*) FROM token_ledger WHERE tenant = ? AND kind = 'create' AND day = ?",
                                 (tenant, day)).fetchone()[0]
            if count >= daily_limit:
                return None
            conn.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)",
                         (token, tenant, resources, validity, created_at, expires_at))
            conn.execute("INSERT INTO token_ledger (tenant, kind, day, at) VALUES (?, 'create', ?, ?)",
                         (tenant, day, created_at))
            return count + 1

    def update_token(self, *, token: str, tenant: str, resources: str, validity: int, expires_at: str,
                     at: str, day: str) -> None:
        with self._writing() as conn:
            conn.execute("UPDATE tokens SET resources = ?, validity = ?, expires_at = ? WHERE token = ?",
                         (resources, validity, expires_at, token))
            conn.execute("INSERT INTO token_ledger (tenant, kind, day, at) VALUES (?, 'update', ?, ?)",
                         (tenant, day, at))

    def token(self, token: str) -> TokenRow | None:
        rows = self.query("SELECT tenant, resources, validity, expires_at FROM tokens WHERE token = ?", (token,))
        return rows[0] if rows else None

    def reset_tokens(self) -> None:
        with self._writing() as conn:
            conn.execute("DELETE FROM tokens")
            conn.execute("DELETE FROM token_ledger")

    def token_counts(self, tenant: str, day: str, now: str) -> dict[str, int]:
        """Creations and updates on `day`, and tokens still alive at `now` (ISO, the format of `expires_at`)."""
        rows = dict(self.query("SELECT kind, COUNT(*) FROM token_ledger WHERE tenant = ? AND day = ? GROUP BY kind",
                               (tenant, day)))
        live = self.scalar("SELECT COUNT(*) FROM tokens WHERE tenant = ? AND expires_at > ?", (tenant, now))
        return {"created_today": rows.get("create", 0), "updated_today": rows.get("update", 0), "live_tokens": live}

    def __repr__(self) -> str:
        return f"Store({self.path})"
