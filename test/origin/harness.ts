/**
 * Test harness (runs inside workerd): the route handler's job for the origin backend alone — validate the body, call
 * the OriginBackend, encode its events, render HttpErrors — so the origin tests and the contract suite can drive the
 * proxy with any ORIGIN_URL and settings, independently of the Worker's router.
 */
import { SELF, env } from "cloudflare:test";
import type { CatalogEntry } from "../../worker/catalog/schema.js";
import { errorResponse, HttpError } from "../../worker/http/errors.js";
import { completionResponse } from "../../worker/openai/encode.js";
import { validateChatRequest, validateTextRequest } from "../../worker/openai/validate.js";
import type { OriginBackend } from "../../worker/origin/backend.js";
import type { OriginEnv } from "../../worker/origin/config.js";
import { seedFixture } from "../worker/helpers.js";
import type { BaseFetch } from "./contract.js";

export function originEntry(id: string, upstreamModel: string): CatalogEntry {
  return {
    id, r2Key: "none", bytes: 1, sha256: "0".repeat(64), format: "gguf", quantization: "F16", contextLength: 8192,
    backend: "origin", origin: { model: upstreamModel },
  };
}

export interface CallOptions {
  /** Origin settings layered over the project's bindings (ORIGIN_URL above all). */
  vars?: OriginEnv;
  signal?: AbortSignal;
  requestId?: string;
}

export async function callOrigin(
  backend: OriginBackend,
  entry: CatalogEntry,
  path: "/v1/chat/completions" | "/v1/completions",
  body: unknown,
  o: CallOptions = {},
): Promise<Response> {
  try {
    const req = path === "/v1/chat/completions" ? validateChatRequest(body) : validateTextRequest(body);
    const stream = await backend.complete(req, entry, {
      requestId: o.requestId ?? crypto.randomUUID(),
      signal: o.signal ?? new AbortController().signal,
      env: { ...env, ...o.vars },
      timing: { add() {} },
    });
    return completionResponse(req, stream);
  } catch (e) {
    if (e instanceof HttpError) return errorResponse(e);
    throw e;
  }
}

/** A BaseFetch for the contract suite that goes through the OriginBackend (our model id ↔ the origin's name). */
export function originBaseFetch(backend: OriginBackend, entry: CatalogEntry, vars: OriginEnv): BaseFetch {
  return async (path, init) => {
    let body: unknown;
    try {
      body = JSON.parse(String(init.body));
    } catch {
      return errorResponse(new HttpError(400, "invalid_request_error", "body is not JSON", null, "invalid_json"));
    }
    if (path !== "/v1/chat/completions" && path !== "/v1/completions") throw new Error(`harness has no route ${path}`);
    return callOrigin(backend, entry, path, body, { vars, ...(init.signal ? { signal: init.signal } : {}) });
  };
}

/** The client key vitest.origin.config.ts sets in API_KEYS. */
export const CLIENT_KEY = "client-secret";

/** A BaseFetch through the whole Worker (SELF), authenticated as a client. */
export const workerFetch: BaseFetch = (path, init) => {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${CLIENT_KEY}`);
  return SELF.fetch(`https://edge.test${path}`, { ...init, headers });
};

/** Puts the origin project's model where its catalog entries expect it (test/stories260K.gguf). */
export async function seedStories(): Promise<void> {
  if (!(await seedFixture("stories260K.gguf"))) throw new Error("fixture stories260K.gguf: HTTP 404");
}
