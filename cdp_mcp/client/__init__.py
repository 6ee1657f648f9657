"""The B2B API client: transport, token endpoints, the data client, and the reading of its answers.

Each resource's domain model and reader live in `client/resources/`. The names below load on first use (PEP
562): the tools import the identity, the models and the readers at start-up, and the rest of the client
(transport, retries, token API) loads with the backend, when the first call needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdp_mcp.client.client import CdpClient
    from cdp_mcp.client.identity import CustomerIdentity
    from cdp_mcp.client.retry import RetryPolicy
    from cdp_mcp.client.token_api import TokenApiClient
    from cdp_mcp.client.transport import make_http_client

__all__ = ["CdpClient", "CustomerIdentity", "RetryPolicy", "TokenApiClient", "make_http_client"]

_HOMES = {"CdpClient": "client", "CustomerIdentity": "identity", "RetryPolicy": "retry",
          "TokenApiClient": "token_api", "make_http_client": "transport"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
