"""The listening socket of `cdp-mcp serve --transport http` and `cdp-mcp sandbox`, bound before uvicorn starts.

Binding first means the real port is known before anything is printed, and a port another process holds is
one line on stderr (`cannot_listen`) and exit code 1, not uvicorn's log and its own exit code.
"""

from __future__ import annotations

import socket

__all__ = ["bind_socket", "cannot_listen"]


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one (read it back with `getsockname`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # proto set: asyncio then disables Nagle
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def cannot_listen(host: str, port: int, error: OSError | OverflowError) -> str:
    """Why `bind_socket(host, port)` failed, in one line (`Address already in use`, ...)."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return f"cannot listen on {host}:{port}: {reason}"
