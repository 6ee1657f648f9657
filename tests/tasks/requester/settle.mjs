// Drives cdp-mcp's Tasks extension with the official requester, @modelcontextprotocol/ext-tasks on the TypeScript v2
// client (@modelcontextprotocol/client), as tests/tasks/test_requester.py asks: `node settle.mjs URL SCENARIO
// ARGUMENTS_JSON`. Prints one JSON object: the execution kind, the outcome and the result or task seen.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createTaskSessionFromClient, resultFromTaskOutcome } from "@modelcontextprotocol/ext-tasks/client";

const [url, scenario, argumentsJson] = process.argv.slice(2);
const toolArguments = JSON.parse(argumentsJson);
const MODERN = "2026-07-28";
const TASKS = "io.modelcontextprotocol/tasks";
const clientInfo = { name: "ext-tasks-requester", version: "1" };
const capabilities = { extensions: { [TASKS]: {} } };
let nextId = 1;

function lastResponse(text, contentType) {
  if (!contentType?.startsWith("text/event-stream")) return JSON.parse(text);
  const messages = text.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) => JSON.parse(line.slice(5)));
  return messages.reverse().find((message) => "id" in message);
}

// The raw path ext-tasks needs for 2026-07-28 task traffic: the framed request POSTed with the routing headers
// (Mcp-Name: the tool's name on tools/call, the task id ext-tasks supplies on tasks/*), read as JSON or SSE.
async function rawDispatch(request, options) {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream",
                    "mcp-protocol-version": MODERN, "mcp-method": request.method,
                    ...(options?.context?.headers ?? {}) };
  if (request.method === "tools/call") headers["mcp-name"] = request.params.name;
  const response = await fetch(url, { method: "POST", headers, signal: options?.signal,
                                      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, ...request }) });
  const message = lastResponse(await response.text(), response.headers.get("content-type"));
  return message.error ? { kind: "error", error: message.error } : { kind: "result", result: message.result };
}

async function connect(era) {
  const options = era === "modern" ? { versionNegotiation: { mode: { pin: MODERN } }, capabilities } : {};
  const client = new Client(clientInfo, options);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const framing = era === "modern" ? { rawDispatch, v2RequestFraming: { protocolVersion: MODERN, clientInfo,
                                                                         clientCapabilities: capabilities } } : {};
  return { client, session: createTaskSessionFromClient(client, { endpointId: "cdp-mcp-test", ...framing }) };
}

const { client, session } = await connect(scenario === "legacy" ? "legacy" : "modern");
const report = { era: client.getProtocolEra(), tasks: [] };
try {
  const execution = await session.callTool("screen_audience", toolArguments);
  report.kind = execution.kind;
  if (execution.kind === "task") report.taskId = execution.handle.taskId;
  if (scenario === "cancel") await execution.cancel();
  const { outcome } = await execution.settle({ onEvent: (event) => {
    if (event.type === "task") report.tasks.push({ status: event.task.status, message: event.task.statusMessage });
  } });
  report.status = outcome.status;
  if (outcome.status === "completed") report.result = resultFromTaskOutcome(outcome);
} catch (error) {
  report.error = String(error?.stack ?? error);
} finally {
  await session.close();
  await client.close();
}
process.stdout.write(JSON.stringify(report) + "\n");
