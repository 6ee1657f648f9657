"""Per-person OAuth sign-in over HTTP: `/mcp` as an OAuth 2.1 resource server.

`keys.py` fetches and caches the issuer's signing keys, `verifiers.py` checks access tokens (JWT, or RFC 7662
introspection), `http_auth.py` assembles the SDK's auth layer around `/mcp`. Part of the HTTP transport: only
`http_app` and doctor use it; its configuration is `settings.sign_in`.
"""

from __future__ import annotations

__all__: list[str] = []
