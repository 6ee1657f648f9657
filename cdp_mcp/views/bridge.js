/* cdp-mcp view bridge: the MCP Apps protocol spoken from the view's side (specification 2026-01-26).
 * ui/initialize handshake, then ui/notifications/initialized; the host's tool-input, tool-result,
 * tool-cancelled and host-context-changed notifications; ping and ui/resource-teardown answered;
 * ui/notifications/size-changed sent when the content's size changes. With data embedded in the document
 * (`cdp-mcp card`), it renders that data at once and follows the system's light or dark theme. An error
 * result and a cancellation are shown here, as a status line, the same way in every view. A view may call the
 * server's tools through the host (`View.call`) when the host says it can (`hostCapabilities.serverTools`). */
"use strict";
const REDACTED = "[redacted]";
const UNTRUSTED_META = "{{UNTRUSTED_META}}";

const View = (() => {
  const root = document.documentElement;
  const pending = new Map();
  const hooks = {
    input() {}, result() {}, context() {}, alone() {},
    cancelled(reason) { note(`Cancelled${reason ? `: ${reason}` : ""}.`, "unavailable"); },
  };
  let nextId = 1;
  let context = {};
  let capabilities = {};
  let lastSize = "";

  function post(message) { window.parent.postMessage({ jsonrpc: "2.0", ...message }, "*"); }

  function request(method, params) {
    const id = nextId++;
    post({ id, method, params });
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }

  function notify(method, params) { post({ method, params: params || {} }); }

  function applyContext(update) {
    context = { ...context, ...update };
    if (update.theme === "light" || update.theme === "dark") root.dataset.theme = update.theme;
    const styles = update.styles || {};
    for (const [name, value] of Object.entries(styles.variables || {})) {
      if (name.startsWith("--") && typeof value === "string" && value) root.style.setProperty(name, value);
    }
    if (styles.css && typeof styles.css.fonts === "string") {
      let fonts = document.getElementById("host-fonts");
      if (!fonts) { fonts = document.createElement("style"); fonts.id = "host-fonts"; document.head.append(fonts); }
      fonts.textContent = styles.css.fonts;
    }
    if (update.displayMode) root.dataset.display = update.displayMode;
    const box = update.containerDimensions;
    if (box) {
      root.style.height = "height" in box ? "100vh" : "";
      root.style.maxWidth = "maxWidth" in box && box.maxWidth ? `${box.maxWidth}px` : "";
    }
    hooks.context(context);
  }

  function deliver(result) {  // an error result is shown as its message by every view
    if (result.isError) note(errorText(result), "problem"); else hooks.result(result);
  }

  function answer(message, result) { if (message.id !== undefined) post({ id: message.id, result }); }

  function onMessage(event) {
    if (event.source !== window.parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined) {
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      if (message.error) waiting.reject(new Error(message.error.message || "The host refused the request"));
      else waiting.resolve(message.result || {});
      return;
    }
    const params = message.params || {};
    switch (message.method) {
      case "ui/notifications/tool-input": hooks.input(params.arguments || {}); break;
      case "ui/notifications/tool-input-partial": break;
      case "ui/notifications/tool-result": deliver(params); break;
      case "ui/notifications/tool-cancelled": hooks.cancelled(params.reason || ""); break;
      case "ui/notifications/host-context-changed": applyContext(params); break;
      case "ui/resource-teardown": case "ping": answer(message, {}); break;
      default:
        if (message.id !== undefined) post({ id: message.id, error: { code: -32601, message: "Method not found" } });
    }
  }

  function reportSize() {
    const box = document.body.getBoundingClientRect();
    const size = { width: Math.ceil(box.width), height: Math.ceil(box.height) };
    const key = `${size.width}x${size.height}`;
    if (key === lastSize) return;
    lastSize = key;
    notify("ui/notifications/size-changed", size);
  }

  async function begin(appName, version, handlers) {
    Object.assign(hooks, handlers);
    const embedded = document.getElementById("cdp-data");
    if (embedded) {
      const data = JSON.parse(embedded.textContent);
      context = { generated: data.generated };
      hooks.input(data.arguments || {});
      deliver({ structuredContent: data.result });
      return;
    }
    if (window.parent === window) { hooks.alone(); return; }
    window.addEventListener("message", onMessage);
    const result = await request("ui/initialize", {
      appInfo: { name: appName, version },
      appCapabilities: { availableDisplayModes: ["inline"] },
      protocolVersion: "2026-01-26",
    });
    capabilities = result.hostCapabilities || {};
    applyContext(result.hostContext || {});
    notify("ui/notifications/initialized", {});
    let frame = 0;  // sizes are reported from here on: the host learns of the view's size after the handshake
    new ResizeObserver(() => { cancelAnimationFrame(frame); frame = requestAnimationFrame(reportSize); })
      .observe(document.body);
  }

  function start(appName, version, handlers) {
    return begin(appName, version, handlers)
      .catch((error) => note(`The host did not start the view: ${error.message}`, "problem"));
  }

  /* A tool of the server, called through the host: its CallToolResult (an error result comes back as such). */
  function call(name, args) { return request("tools/call", { name, arguments: args || {} }); }

  return { start, call, context: () => context, canCall: () => Boolean(capabilities.serverTools) };
})();

/* Rendering helpers shared by the views: each renders into its <main id="app">. */
const app = document.getElementById("app");

const dom = {
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },
  value(text, fallback) {
    if (text === REDACTED) return dom.el("span", { class: "redacted", title: "redacted (CDP_REDACT_PII)" }, "redacted");
    if (text === undefined || text === null || text === "") return fallback === undefined ? "" : fallback;
    return String(text);
  },
  mark(flag, yes, no) {
    if (flag === true) return dom.el("span", { class: "yes" }, dom.el("span", { "aria-hidden": "true" }, "✓ "), yes);
    if (flag === false) return dom.el("span", { class: "no" }, dom.el("span", { "aria-hidden": "true" }, "✕ "), no);
    return dom.el("span", { class: "unknown" }, "unknown");
  },
};

function locale() { return View.context().locale || navigator.language || "en-US"; }

function money(amount, currency) {
  if (typeof amount !== "number") return "—";
  try {
    if (currency) return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(amount);
  } catch (error) { /* not an ISO 4217 code: the number with the code beside it */ }
  const number = new Intl.NumberFormat(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount);
  return currency ? `${number} ${currency}` : number;
}

function monthName(month, style) {
  const [year, number] = String(month).split("-").map(Number);
  if (!year || !number) return String(month);
  return new Intl.DateTimeFormat(locale(), { month: style || "short", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(year, number - 1, 1)));
}

/* The view's content replaced by `nodes`, and the view no longer busy. */
function show(...nodes) {
  app.replaceChildren(...nodes.filter(Boolean));
  app.setAttribute("aria-busy", "false");
}

/* One status line in place of the content; with a `kind` (problem, unavailable) it is announced as an alert. */
function note(text, kind) { show(dom.el("p", { class: kind || "muted", id: "status", role: kind ? "alert" : null }, text)); }

/* The recency of a last purchase, in the same words in every view. */
function daysAgo(days) {
  if (typeof days !== "number") return "no purchase yet";
  if (days === 0) return "today";
  return days === 1 ? "yesterday" : `${new Intl.NumberFormat(locale()).format(days)} days ago`;
}

/* The JSON pointers a result labels as customer-written (its _meta), as a set. */
function customerWritten(result) {
  const pointers = ((result && result._meta) || {})[UNTRUSTED_META];
  return new Set(Array.isArray(pointers) ? pointers : []);
}

/* Attributes for an element showing the value at `pointer`: customer-written text says so when hovered. */
function origin(marks, pointer) {
  return marks.has(pointer) ? { "data-origin": "customer", title: "Written by the customer" } : {};
}

/* Whether the server left the value at a JSON pointer out of `data` (its `withheld`: why -> pointers). */
function withheld(data, pointer) {
  return Object.values((data && data.withheld) || {}).some((pointers) => (pointers || []).includes(pointer));
}

/* Identifiers as words: [["email", "a@b.c"], ["gcr_id", 1]] -> "email a@b.c, gcr_id 1" (a masked one "redacted"). */
function identifiers(pairs) { return pairs.map(([k, v]) => `${k} ${v === REDACTED ? "redacted" : v}`).join(", "); }

function textBlock(result) { return (result.content || []).find((block) => block.type === "text"); }

function resultData(result) {
  if (result.structuredContent) return result.structuredContent;
  const text = textBlock(result);
  try { return text ? JSON.parse(text.text) : null; } catch (error) { return null; }
}

function errorText(result) {
  const text = textBlock(result);
  return text ? text.text : "The tool returned an error.";
}
