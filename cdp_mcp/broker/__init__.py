"""The quota-aware, least-privilege token broker: cached, extended, persisted and shared tokens."""

from __future__ import annotations

from cdp_mcp.broker.broker import BrokerStats, TokenBroker
from cdp_mcp.broker.ledger import Allowance, CreationLedger
from cdp_mcp.broker.redis_store import RedisTokenStore
from cdp_mcp.broker.store import FileTokenStore, TokenStore, namespace_for

__all__ = [
    "Allowance",
    "BrokerStats",
    "CreationLedger",
    "FileTokenStore",
    "RedisTokenStore",
    "TokenBroker",
    "TokenStore",
    "namespace_for",
]
