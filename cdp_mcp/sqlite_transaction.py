"""One SQLite write transaction, taken the same way by the sandbox's store and the screening job store.

`BEGIN IMMEDIATE` takes the database's write lock up front, so a read-then-write (the daily token limit, a job's
lease) cannot be raced by another connection or process; any exception rolls back.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

__all__ = ["immediate_transaction"]


@contextlib.contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`conn` inside `BEGIN IMMEDIATE`: committed on exit, rolled back on any exception (cancellation too)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
