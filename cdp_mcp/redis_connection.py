"""The connection to Redis (CDP_REDIS_URL), made one way for everything that shares state through it.

The token store (broker/redis_store.py), the job store (jobs/redis_store.py), the rate limiter
(access/ratelimit.py) and doctor make their client here, with the same timeouts and the same errors; the two
stores take their leases with the same scripts. redis-py is an optional extra
(`pip install 'cdp-mcp[redis]'`), imported only when a client is made, so a server without CDP_REDIS_URL never
loads it. The URL may carry a password: it stays a `SecretStr`, and `redis_location` is the form that may be shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import SecretStr

from cdp_mcp.errors import ConfigurationError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["EXTEND_LEASE", "INSTALL_COMMAND", "RELEASE_LEASE", "URL_HINT", "redis_client", "redis_location"]

INSTALL_COMMAND = "pip install 'cdp-mcp[redis]'"
URL_HINT = ("Check CDP_REDIS_URL (host, port, database, password; rediss:// for TLS) and that Redis is up, or "
            "unset CDP_REDIS_URL to keep the token state in CDP_STATE_DIR on this machine.")
"""What to check when Redis cannot be used."""

# Leases (a key holding its holder's random value, `SET NX PX`), as the token store and the job store take them.
# KEYS[1] the lease, ARGV[1] its holder's value: act only while the lease is still that holder's.
EXTEND_LEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
"""ARGV[2]: the new lifetime in milliseconds; answers 1 when extended, 0 when the lease is no longer the holder's."""
RELEASE_LEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
"""Deletes the lease only for its holder."""


def redis_client(url: SecretStr | str, *, timeout: float) -> tuple[Redis, tuple[type[BaseException], ...]]:
    """A client for `CDP_REDIS_URL` (nothing connects yet) and the exceptions that mean "Redis failed".

    The one place redis-py is imported (an optional extra: only when CDP_REDIS_URL is set) and a client made,
    for the token store, the rate limiter and doctor alike. `timeout` bounds connecting and each command.

    Raises:
        ConfigurationError: redis-py is not installed, or the URL is not a valid Redis URL (the message never
            quotes it: it may carry a password).
    """
    try:
        import redis.asyncio as redis_asyncio  # noqa: PLC0415
        from redis.exceptions import RedisError  # noqa: PLC0415
    except ImportError:
        raise ConfigurationError(
            "CDP_REDIS_URL is set but the Redis client (redis-py) is not installed.",
            hint=f"Install it with: {INSTALL_COMMAND} (or unset CDP_REDIS_URL to keep the token state on this "
                 "machine).",
        ) from None
    secret = url.get_secret_value() if isinstance(url, SecretStr) else url
    try:
        client = redis_asyncio.Redis.from_url(secret, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError:  # the message may quote the URL, password included
        raise ConfigurationError("CDP_REDIS_URL is not a valid Redis URL.", hint=URL_HINT) from None
    return client, (RedisError, OSError)


def redis_location(url: SecretStr | str) -> str:
    """The URL without user-info (a password), query or fragment: safe for messages and reprs."""
    try:
        parts = urlsplit(url.get_secret_value() if isinstance(url, SecretStr) else url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
