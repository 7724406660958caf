/**
 * HTTP over real TCP sockets (node:http), with a client that can vanish: `destroyAfterMs` tears the socket down at
 * that moment whatever phase the request is in (queued, prefill, mid-stream), as a closed tab or a killed curl does.
 */
import http from "node:http";

export interface SocketResult {
  status: number | undefined;
  body: string;
  /** The client destroyed the socket before the response ended (destroyAfterMs, or the timeout). */
  vanished: boolean;
  /** timeoutMs ran out before the response ended. */
  timedOut: boolean;
  ms: number;
}

export interface SocketRequest {
  method?: "GET" | "POST";
  body?: unknown;
  headers?: Record<string, string>;
  destroyAfterMs?: number;
  /** Gives up (and destroys the socket) after this long; the result then has vanished=true. */
  timeoutMs?: number;
}

export function socketRequest(url: string, req: SocketRequest = {}): Promise<SocketResult> {
  const started = performance.now();
  const data = req.body === undefined ? undefined : JSON.stringify(req.body);
  return new Promise((resolve) => {
    let status: number | undefined;
    let body = "";
    let settled = false;
    const done = (vanished: boolean, timedOut = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(killer);
      resolve({ status, body, vanished, timedOut, ms: performance.now() - started });
    };
    const r = http.request(url, {
      method: req.method ?? (data === undefined ? "GET" : "POST"),
      headers: {
        ...(data === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(data)) }),
        ...req.headers,
      },
      agent: false,
    });
    r.on("response", (res) => {
      status = res.statusCode;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => done(false));
      res.on("error", () => done(true));
    });
    r.on("error", () => done(true));
    const cut = req.destroyAfterMs ?? req.timeoutMs;
    const killer = cut === undefined ? undefined : setTimeout(() => {
      r.destroy();
      done(true, req.destroyAfterMs === undefined);
    }, cut);
    r.end(data);
  });
}
