"""A test host for the MCP Apps views: the host side of the protocol, the way MCP hosts embed a view.

The page puts the view's HTML in a sandboxed iframe (`sandbox="allow-scripts"`: an opaque origin, no access to
the host) under the Content-Security-Policy the specification prescribes when a resource declares no domains,
answers `ui/initialize` with a host context (theme, style variables, locale, container size), and after the
view's `ui/notifications/initialized` sends the tool input and the tool result. Given a `call_tool` function, it
says it can proxy the server's tools (`hostCapabilities.serverTools`) and answers the view's `tools/call` with it,
as a host does with the MCP server. It sizes the iframe from the
view's `ui/notifications/size-changed`, can change the theme with `ui/notifications/host-context-changed`, and
keeps every message the view sent. The Python side records console errors and every network request.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CSP", "HOST_VARIABLES", "HostedView", "open_view", "rgb", "watch"]

CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; media-src 'self' data:; connect-src 'none'; frame-src 'none'; object-src 'none'; "
       "base-uri 'self'")
"""The specification's restrictive default for a view that declares no `_meta.ui.csp`."""

HOST_VARIABLES = {
    "--color-background-primary": "light-dark(#fbfaf7, #1f1e1c)",
    "--color-text-primary": "light-dark(#1f1e1c, #f2f0eb)",
    "--font-sans": "'DejaVu Sans', sans-serif",
}
"""A few of the standard style variables, as a host passes them (light-dark() pairs)."""

_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body { margin: 0; padding: 12px; background: #e9e9ee; font-family: sans-serif; }
body.dark { background: #09090b; }
iframe { display: block; width: 100%; height: 200px; border: 0; }
</style></head><body>
<iframe id="view" title="MCP App view" sandbox="allow-scripts"></iframe>
<script>
const SETUP = __SETUP__;
const frame = document.getElementById("view");
const sent = [];
let theme = SETUP.theme;
window.viewMessages = sent;
function send(message) { frame.contentWindow.postMessage({ jsonrpc: "2.0", ...message }, "*"); }
window.addEventListener("message", (event) => {
  if (event.source !== frame.contentWindow) return;
  const message = event.data;
  sent.push(message);
  if (message.method === "ui/initialize") {
    const hostContext = { theme, styles: { variables: SETUP.variables }, displayMode: "inline",
      availableDisplayModes: ["inline"], containerDimensions: { maxHeight: 6000 }, locale: "en-US", timeZone: "UTC",
      platform: "web" };
    const hostCapabilities = SETUP.serverTools ? { serverTools: {} } : {};
    send({ id: message.id, result: { protocolVersion: "2026-01-26", hostCapabilities, hostContext,
      hostInfo: { name: "cdp-mcp test host", version: "1" } } });
  } else if (message.method === "ui/notifications/initialized") {
    send({ method: "ui/notifications/tool-input", params: { arguments: SETUP.arguments } });
    send({ method: "ui/notifications/tool-result", params: SETUP.result });
  } else if (message.method === "tools/call") {
    if (!SETUP.serverTools) { send({ id: message.id, error: { code: -32601, message: "Method not found" } }); return; }
    window.callTool(message.params).then((result) => send({ id: message.id, result }),
      (error) => send({ id: message.id, error: { code: -32000, message: String(error) } }));
  } else if (message.method === "ui/notifications/size-changed") {
    frame.style.height = `${message.params.height}px`;
  }
});
window.setTheme = (next) => {
  theme = next;
  document.body.classList.toggle("dark", next === "dark");
  send({ method: "ui/notifications/host-context-changed", params: { theme: next } });
};
window.ping = () => send({ id: 99, method: "ping", params: {} });
document.body.classList.toggle("dark", theme === "dark");
frame.srcdoc = SETUP.view;
</script></body></html>"""


def rgb(color: str) -> tuple[int, ...]:
    """`rgb(31, 30, 28)` -> (31, 30, 28)."""
    return tuple(int(float(x)) for x in color[color.index("(") + 1:color.index(")")].split(",")[:3])


def watch(page: Any) -> tuple[list[str], list[str]]:
    """The console errors (CSP violations included), any dialog a script opened, and the network requests of a page,
    as they happen."""
    errors: list[str] = []
    requests: list[str] = []

    async def dialog(opened: Any) -> None:
        errors.append(f"a script opened a dialog: {opened.message!r}")
        await opened.dismiss()

    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", dialog)
    page.on("request", lambda r: requests.append(r.url))
    return errors, requests


@dataclass
class HostedView:
    """One view in the test host: the Playwright page, the view's frame, and what went wrong or out."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def frame(self) -> Any:
        return self.page.frame_locator("#view")

    async def messages(self) -> list[dict[str, Any]]:
        return await self.page.evaluate("window.viewMessages")

    async def set_theme(self, theme: str) -> None:
        await self.page.evaluate("theme => window.setTheme(theme)", theme)
        await self.frame.locator(f"html[data-theme={theme}]").wait_for()

    async def background(self) -> tuple[int, ...]:
        """The view's computed page background, as (r, g, b)."""
        return rgb(await self.frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor"))

    async def screenshot(self, path: Path) -> Path:
        """The view as the host shows it, once the view has painted its last change."""
        await self.frame.locator("body").evaluate("() => new Promise(r => requestAnimationFrame(() => "
                                                  "requestAnimationFrame(r)))")
        await self.page.locator("#view").screenshot(path=str(path))
        return path

    def assert_clean(self) -> None:
        """No console error and no request to any origin."""
        assert self.errors == [] and self.requests == []


async def open_view(browser: Any, html: str, call: dict[str, Any], *, theme: str = "light", width: int = 900,
                    variables: dict[str, str] | None = None,
                    call_tool: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None = None) -> HostedView:
    """A new page hosting `html` (a view document) that will be given `call` (arguments and result); with
    `call_tool(params)`, the view's tools/call requests are answered by it (the MCP server behind the host)."""
    page = await browser.new_page(viewport={"width": width, "height": 2400})  # tall enough for a whole view
    errors, requests = watch(page)
    if call_tool is not None:
        await page.expose_function("callTool", call_tool)
    view = html.replace("<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{CSP}">', 1)
    setup = {"view": view, "theme": theme, "variables": variables or {}, "serverTools": call_tool is not None,
             **call}
    await page.set_content(_PAGE.replace("__SETUP__", json.dumps(setup).replace("</", "<\\/")))
    return HostedView(page, errors, requests)
