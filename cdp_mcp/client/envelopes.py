"""The three response envelopes (catalog.Envelope): take the `data` out, or say the shape is unusable.

Standard: `{"status": "OK", "message": "", "data": {...}}`; gcr: `{"status": "OK", "data": [{...}]}`; optIn:
a bare array. Each is read tolerantly (a bare object where an envelope was expected, a gcr `data` object
instead of a list, an optIn array wrapped in an envelope), and anything else is an `UpstreamResponseError`
that names the resource.
"""

from __future__ import annotations

from typing import Any

from cdp_mcp.catalog import Envelope, Resource
from cdp_mcp.errors import UpstreamResponseError

__all__ = ["unwrap"]

def unwrap(resource: Resource, payload: Any) -> Any:
    """The `data` of a successful response: a dict for standard envelopes, a list for gcr and optIn.

    Raises:
        UpstreamResponseError: the payload is not one of the shapes the resource can answer with.
    """
    if resource.envelope is Envelope.STANDARD:
        if isinstance(payload, dict):
            data = payload.get("data", payload)  # tolerate a bare object without the envelope
            if data is None:
                return {}
            if isinstance(data, dict | list | bool):
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


def _kind(payload: Any) -> str:
    if isinstance(payload, dict):
        return "an object without usable data"
    if isinstance(payload, list):
        return "an array"
    return "a JSON " + type(payload).__name__
