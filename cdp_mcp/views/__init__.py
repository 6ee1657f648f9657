"""The MCP Apps views: a customer card for get_customer_overview and a sortable table for screen_customers.

Each view is one self-contained HTML document (its CSS and JavaScript inline, no request to any other origin,
so the host's default Content-Security-Policy lets it run), assembled from the files beside this module and
served as a `ui://` resource with the MIME type `text/html;profile=mcp-app` through the SDK's MCP Apps
extension (`mcp.server.apps`). A tool names its view in `_meta.ui.resourceUri`; the view speaks the MCP Apps
postMessage protocol with the host (see bridge.js). Hosts without MCP Apps ignore the metadata and get the
same results as ever. `standalone` embeds one result in a view for a browser without any host (`cdp-mcp card`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps

from cdp_mcp.version import UNTRUSTED_META, __version__

__all__ = ["CARD_URI", "SCREENING_URI", "VIEWS", "ViewFile", "apps_extension", "document", "standalone", "view_meta"]

CARD_URI = "ui://cdp-mcp/customer-card.html"
SCREENING_URI = "ui://cdp-mcp/screening-table.html"
_DATA = "<!--{{DATA}}-->"


@dataclass(frozen=True, slots=True)
class ViewFile:
    """One view: the HTML file it is built from and how it is listed as a resource."""

    file: str
    name: str
    title: str
    description: str


VIEWS: dict[str, ViewFile] = {
    CARD_URI: ViewFile("card.html", "customer_card", "Customer card",
                       "Shows a get_customer_overview result: who, value with a monthly chart, consent per channel, "
                       "segments, top affinities and recommendations."),
    SCREENING_URI: ViewFile("screening.html", "screening_table", "Screening table",
                            "Shows a screen_customers result: one sortable row per customer with segment membership, "
                            "consent on the channel, recency and errors."),
}


def _text(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


@cache
def _assembled(uri: str) -> str:
    """A view's HTML with the shared style and bridge inlined, and the place for embedded data marked."""
    html = _text(VIEWS[uri].file)
    return (html.replace("/*{{BASE_CSS}}*/", _text("base.css")).replace("/*{{BRIDGE_JS}}*/", _text("bridge.js"))
            .replace("{{VERSION}}", __version__).replace("{{UNTRUSTED_META}}", UNTRUSTED_META))


def document(uri: str) -> str:
    """The complete HTML document of a view, as a host gets it (the data comes by postMessage)."""
    return _assembled(uri).replace(_DATA + "\n", "", 1)


def _script_json(data: Any) -> str:
    """JSON that cannot close the script element it sits in."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def standalone(uri: str, result: dict[str, Any], arguments: dict[str, Any], *, generated: str | None = None) -> str:
    """The view with one tool result embedded: renders at once in any browser, following its light or dark mode.

    `generated` (an ISO timestamp) is shown in the footer, for a card attached to a bug report.
    """
    payload = {"arguments": arguments, "result": result, **({"generated": generated} if generated else {})}
    data = f'<script type="application/json" id="cdp-data">{_script_json(payload)}</script>'
    return _assembled(uri).replace(_DATA, data, 1)


def view_meta(uri: str) -> dict[str, Any]:
    """The tool `_meta` that names its view (the nested `ui.resourceUri` form of the 2026-01-26 specification)."""
    return {"ui": {"resourceUri": uri}}


def apps_extension(uris: Iterable[str]) -> Apps:
    """The MCP Apps extension serving these views (advertises `io.modelcontextprotocol/ui`)."""
    apps = Apps()
    for uri in dict.fromkeys(uris):
        view = VIEWS[uri]
        apps.add_html_resource(uri, document(uri), name=view.name, title=view.title, description=view.description,
                               prefers_border=True)
    return apps
