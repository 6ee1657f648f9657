"""The B2B API client: transport, token endpoints, the data client, and the parsing of its answers."""

from __future__ import annotations

from cdp_mcp.client.client import CdpClient
from cdp_mcp.client.identity import CustomerIdentity
from cdp_mcp.client.retry import RetryPolicy
from cdp_mcp.client.token_api import TokenApiClient
from cdp_mcp.client.transport import make_http_client

__all__ = ["CdpClient", "CustomerIdentity", "RetryPolicy", "TokenApiClient", "make_http_client"]
