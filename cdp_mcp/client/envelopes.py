"""The three response envelopes (catalog.Envelope): take the `data` out, or say the shape is unusable.

Standard: `{"status": "OK", "message": "", "data": {...}}`; gcr: `{"status": "OK", "data": [{...}]}`; optIn:
a bare array. Each is read tolerantly (a bare object where an envelope was expected, a gcr `data` object
instead of a list, an optIn array wrapped in an envelope), and anything else is an `UpstreamResponseError`
that names the resource.
"""

from __future__ import annotations

import re

from cdp_mcp.catalog import Envelope, Resource
from cdp_mcp.client.values import is_placeholder
from cdp_mcp.errors import UpstreamResponseError

__all__ = ["unwrap"]

_NOTHING = re.compile(r"^no (data|records?|results?|entries|items)( (found|available))?\.?$", re.IGNORECASE)
"""Sentences APIs put in `data` for an empty answer with status OK."""


def unwrap(resource: Resource, payload: object) -> object:
    """The `data` of a successful response: a dict for standard envelopes, a list for gcr and optIn.

    A standard `data` that is null, a placeholder or a "no records found" sentence is "nothing" (`{}`, which
    list readers read as an empty list); another scalar is handed to the reader, which knows whether it can
    use one (`isCustomerInSegment` reads `"true"`) and names the resource when it cannot.

    Raises:
        UpstreamResponseError: the payload is not one of the shapes the resource can answer with.
    """
    if resource.envelope is Envelope.STANDARD:
        if isinstance(payload, dict):
            data = payload.get("data", payload)  # tolerate a bare object without the envelope
            if data is None or (isinstance(data, str) and (is_placeholder(data) or _NOTHING.match(data.strip()))):
                return {}
            if isinstance(data, dict | list | str | int | float):
                return data
    elif isinstance(payload, list):
        return payload
    elif isinstance(payload, dict):
        data = payload.get("data", payload)
        if isinstance(data, list):
            return data
        if isinstance(data, dict) and resource.envelope is Envelope.GCR_LIST:
            return [data]
        if data is None:
            return []
    raise UpstreamResponseError(f"The API answered {resource.name} in a shape cdp-mcp cannot read "
                                f"(expected {_EXPECTED[resource.envelope]}, got {_kind(payload)}).")


_EXPECTED = {
    Envelope.STANDARD: "an object with data",
    Envelope.GCR_LIST: "an object with a data list",
    Envelope.BARE_ARRAY: "a JSON array",
}


def _kind(payload: object) -> str:
    if isinstance(payload, dict):
        return "an object without usable data"
    if isinstance(payload, list):
        return "an array"
    return "a JSON " + type(payload).__name__
