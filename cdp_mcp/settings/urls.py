"""The one URL check of the settings, and the one loopback test.

Every URL setting (the API's, the token endpoints', the sign-in ones) is checked by `url_problem`, so a bad value
is refused in the same words whichever variable holds it, and never echoed when it could carry a secret
(user-info is refused before anything quotes the value). `is_loopback` decides where plain http and an open
HTTP listener are acceptable: by address (127.0.0.0/8, ::1) or the name `localhost`, never by a prefix of the
name (`127.attacker.example` is not this machine).
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["PlainHttp", "is_loopback", "url_problem"]

PlainHttp = Literal["anywhere", "loopback"]
"""Where a URL setting accepts http:// besides https://: a test API on your network, or this machine only."""

_WHERE: dict[PlainHttp, str] = {"anywhere": "for a test API on your network", "loopback": "on loopback"}


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_problem(url: str, *, plain_http: PlainHttp, query: bool = False) -> str | None:
    """What is wrong with a URL setting, as the rest of a sentence that starts with its variable; None if nothing.

    Args:
        url: the value, stripped.
        plain_http: where http:// is accepted.
        query: whether the URL may carry a query string (a JWKS or introspection endpoint may).
    """
    scheme, has_scheme, _ = url.partition("://")
    try:
        parts = urlsplit(url if has_scheme else f"https://{url}")
    except ValueError:  # an unbalanced [ ] around an IPv6 address
        return "is not a valid URL"
    if "@" in parts.netloc or parts.fragment or (parts.query and not query):
        # httpx2 logs request URLs: credentials travel in headers only. The value is not echoed.
        carried = "user-info or a fragment" if query else "user-info, a query or a fragment"
        return f"must not carry {carried}: keep only https://host/path"
    if has_scheme and scheme.lower() not in ("https", "http"):
        return f"must start with https:// (or http:// {_WHERE[plain_http]}), not {scheme}://"
    if not has_scheme:
        return f"needs a scheme: use https://{url}"
    if not parts.hostname:
        return "needs a host: use https://host/path"
    if scheme.lower() == "http" and plain_http == "loopback" and not is_loopback(parts.hostname):
        return "must use https:// (plain http only on loopback)"
    return None
