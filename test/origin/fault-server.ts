/**
 * A fault-injecting OpenAI-compatible origin for the origin tests (runs in Node, started by global-setup.ts).
 * The first path segment picks the behaviour: `http://127.0.0.1:<port>/<scenario>/v1/chat/completions`. Each request
 * is recorded (headers, body, whether the client closed it before the answer ended) and can be read back from
 * `GET /__log/<x-request-id>`, so a test inside workerd can see what the Worker actually sent and when it hung up.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  scenario: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The client (the Worker) closed the connection before the response was complete. */
  closedEarly: boolean;
  /** Chunks written before the close (endless streams). */
  chunksSent: number;
  finished: boolean;
}

const log = new Map<string, RecordedRequest[]>();
/** Per-scenario request counters (flaky scenarios fail the first N). */
const counters = new Map<string, number>();
/** Scenario "switch" answers 503 while this is true (toggled over HTTP by the breaker test). */
const switches = new Map<string, boolean>();

/** Base URL the "relay" scenario forwards to (set once the real origin is up). */
let relayTarget: string | undefined;
export function setRelayTarget(url: string): void {
  relayTarget = url;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function chunk(model: string, kind: "chat" | "text", text: string, finish: string | null) {
  return kind === "chat"
    ? { id: "chatcmpl-up", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: finish ? {} : { content: text }, finish_reason: finish }] }
    : { id: "cmpl-up", object: "text_completion", created: 1, model, choices: [{ index: 0, text, finish_reason: finish, logprobs: null }] };
}

function completion(model: string, kind: "chat" | "text") {
  const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
  return kind === "chat"
    ? { id: "chatcmpl-up", object: "chat.completion", created: 1, model, choices: [{ index: 0, message: { role: "assistant", content: "Hi there" }, finish_reason: "stop" }], usage }
    : { id: "cmpl-up", object: "text_completion", created: 1, model, choices: [{ index: 0, text: "Hi there", finish_reason: "stop", logprobs: null }], usage };
}

function sse(res: ServerResponse, payload: unknown) {
  res.write(`data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}\n\n`);
}

/** An OpenAI tool-call answer naming the first tool, JSON or streamed as `delta.tool_calls` fragments. */
function toolCallAnswer(res: ServerResponse, model: string, tools: Array<{ function: { name: string } }>, stream: boolean) {
  const name = tools[0]!.function.name;
  const call = { id: "call_up1", type: "function", function: { name, arguments: '{"city":"Paris"}' } };
  if (!stream) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
      id: "chatcmpl-up", object: "chat.completion", created: 1, model,
      choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [call] }, finish_reason: "tool_calls" }],
      usage: { prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 },
    }));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const delta = (d: object, finish: string | null) =>
    sse(res, { id: "chatcmpl-up", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: d, finish_reason: finish }] });
  delta({ role: "assistant", content: null, tool_calls: [{ index: 0, id: call.id, type: "function", function: { name, arguments: "" } }] }, null);
  delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, null);
  delta({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, null);
  delta({}, "tool_calls");
  sse(res, "[DONE]");
  res.end();
}

async function okAnswer(res: ServerResponse, rec: RecordedRequest, model: string, kind: "chat" | "text", stream: boolean) {
  if (!stream) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(completion(model, kind)));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  res.write(": keep-alive comment\n\n");
  for (const piece of ["Hi", " there"]) {
    sse(res, chunk(model, kind, piece, null));
    rec.chunksSent++;
    await sleep(5);
  }
  sse(res, chunk(model, kind, "", "stop"));
  sse(res, "[DONE]");
  res.end();
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://origin");
  if (req.method === "GET" && url.pathname.startsWith("/__log/")) {
    const id = decodeURIComponent(url.pathname.slice("/__log/".length));
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(log.get(id) ?? []));
    return;
  }
  if (req.method === "POST" && url.pathname.startsWith("/__switch/")) {
    const [name, value] = url.pathname.slice("/__switch/".length).split("/");
    switches.set(name!, value === "fail");
    res.writeHead(204).end();
    return;
  }
  const [, scenario = "", ...rest] = url.pathname.split("/");
  const route = `/${rest.join("/")}`;
  let raw = "";
  for await (const part of req) raw += part;
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(raw);
  } catch {
    /* recorded as {} */
  }
  const rec: RecordedRequest = { scenario, path: route, headers: req.headers, body, closedEarly: false, chunksSent: 0, finished: false };
  const id = String(req.headers["x-request-id"] ?? "none");
  log.set(id, [...(log.get(id) ?? []), rec]);
  res.on("close", () => {
    rec.closedEarly = !res.writableFinished;
  });
  res.on("finish", () => {
    rec.finished = true;
  });
  const count = (counters.get(scenario) ?? 0) + 1;
  counters.set(scenario, count);

  if (route !== "/v1/chat/completions" && route !== "/v1/completions") {
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "no route", type: "not_found" } }));
    return;
  }
  const kind = route === "/v1/chat/completions" ? "chat" : "text";
  const model = String(body.model);
  const stream = body.stream === true;

  switch (scenario.replace(/-\d+$/, "")) {
    case "ok":
      return okAnswer(res, rec, model, kind, stream);
    case "hang": // accepts the request, never answers (no headers)
      return;
    case "slow-first-byte": // SSE headers at once, then nothing for 10 s
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.flushHeaders();
      await sleep(10_000);
      if (!res.destroyed) okAnswer(res, rec, model, kind, stream);
      return;
    case "status-500":
      res.writeHead(500, { "content-type": "text/plain" }).end(`Traceback: secret internal at http://10.1.2.3:8000 model ${model}`);
      return;
    case "status-503":
      res.writeHead(503, { "content-type": "text/plain" }).end("overloaded");
      return;
    case "flaky": // one 502, then fine: a retry must hide it
      if (count === 1) {
        res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway");
        return;
      }
      return okAnswer(res, rec, model, kind, stream);
    case "switch":
      if (switches.get(scenario)) {
        res.writeHead(503, { "content-type": "text/plain" }).end("down");
        return;
      }
      return okAnswer(res, rec, model, kind, stream);
    case "bad-request": // a well-formed OpenAI error that names the upstream model and leaks its address
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({
        error: { message: `Model ${model} at http://10.1.2.3:8000/v1 cannot do that`, type: "invalid_request_error", param: "max_tokens", code: "bad_max" },
      }));
      return;
    case "bad-request-html":
      res.writeHead(400, { "content-type": "text/html" }).end("<html>nginx 400 at internal-host</html>");
      return;
    case "unauthorized":
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "Invalid API key sk-origin", type: "auth" } }));
      return;
    case "malformed": // one good chunk, then a data line that is not JSON
      res.writeHead(200, { "content-type": "text/event-stream" });
      sse(res, chunk(model, kind, "Hi", null));
      await sleep(5);
      res.write("data: {this is not json\n\n");
      await sleep(5);
      sse(res, chunk(model, kind, "never seen", null));
      sse(res, "[DONE]");
      res.end();
      return;
    case "upstream-error-event": // llama.cpp-style in-band error with internals in it
      res.writeHead(200, { "content-type": "text/event-stream" });
      sse(res, chunk(model, kind, "Hi", null));
      sse(res, { error: { message: "CUDA out of memory at /opt/vllm/worker.py:42", type: "server_error" } });
      sse(res, "[DONE]");
      res.end();
      return;
    case "llama-error-line": // llama.cpp server style: `error: {...}` then the stream ends without [DONE]
      res.writeHead(200, { "content-type": "text/event-stream" });
      sse(res, chunk(model, kind, "Hi", null));
      res.write(`error: ${JSON.stringify({ code: 500, message: "ggml_graph_compute failed at /src/ggml.c:123", type: "server_error" })}\n\n`);
      res.end();
      return;
    case "drop": // a chunk, then the connection dies
      res.writeHead(200, { "content-type": "text/event-stream" });
      sse(res, chunk(model, kind, "Hi", null));
      await sleep(20);
      res.destroy();
      return;
    case "endless": // chunks every 10 ms until the client goes away
      res.writeHead(200, { "content-type": "text/event-stream" });
      while (!res.destroyed && rec.chunksSent < 3000) {
        sse(res, chunk(model, kind, "x", null));
        rec.chunksSent++;
        await sleep(10);
      }
      if (!res.destroyed) res.end();
      return;
    case "split": // lines cut at awkward byte boundaries (inside a multi-byte character and inside "data:")
      res.writeHead(200, { "content-type": "text/event-stream" });
      {
        const text = `data: ${JSON.stringify(chunk(model, kind, "héllo €", null))}\n\nda` +
          `ta: ${JSON.stringify(chunk(model, kind, "", "stop"))}\r\n\r\ndata: [DONE]\n\n`;
        const bytes = Buffer.from(text);
        const euro = bytes.indexOf(Buffer.from("€"));
        for (const [a, b] of [[0, euro + 1], [euro + 1, bytes.length - 10], [bytes.length - 10, bytes.length]] as const) {
          res.write(bytes.subarray(a, b));
          await sleep(5);
        }
      }
      res.end();
      return;
    case "relay": // records what the Worker sent, then forwards it to the real origin (llama.cpp) and streams back
      // A request with tools gets a tool call, as vLLM's would (the test llama.cpp runs without tool templates).
      if (Array.isArray(body.tools)) return toolCallAnswer(res, model, body.tools as Array<{ function: { name: string } }>, stream);
      if (!relayTarget) {
        res.writeHead(503, { "content-type": "text/plain" }).end("no relay target");
        return;
      }
      {
        const up = await fetch(relayTarget + route, { method: "POST", headers: { "content-type": "application/json" }, body: raw });
        res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/octet-stream" });
        const reader = up.body?.getReader();
        for (;;) {
          const part = await reader?.read();
          if (!part || part.done) break;
          if (res.destroyed) {
            await reader!.cancel();
            break;
          }
          res.write(part.value);
        }
        res.end();
      }
      return;
    default:
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `unknown scenario ${scenario}` } }));
  }
}

export async function startFaultServer(): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

/** A port nothing listens on: bind, read the number, close. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
