/**
 * Bearer-key auth: Hono's bearer-auth middleware, with our key compare (SHA-256 digests, so the time depends on
 * neither key's content nor length; every key compared, no early exit) and OpenAI's 401 bodies. Keys come from the
 * `API_KEYS` secret; none set → auth off.
 */
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Env } from "../env.js";
import { listVar } from "../vars.js";
import { errorResponse, HttpError } from "./errors.js";

const encoder = new TextEncoder();

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(s)));
}

function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}

async function isKey(token: string, keys: readonly string[]): Promise<boolean> {
  const given = await digest(token);
  let ok = false;
  for (const key of keys) ok = equalDigests(given, await digest(key)) || ok;
  return ok;
}

const missingKey = () =>
  errorResponse(new HttpError(401, "authentication_error", "Missing API key: send 'Authorization: Bearer <key>'.", null, "missing_api_key"));
const wrongKey = () => errorResponse(new HttpError(401, "authentication_error", "Incorrect API key provided.", null, "invalid_api_key"));

/** 401 unless the request carries one of API_KEYS (skipped where `open(env)` says so, or when no keys are set). */
export function requireApiKey(open: (env: Env) => boolean = () => false): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const keys = listVar(c.env.API_KEYS);
    if (keys.length === 0 || open(c.env)) return next();
    return bearerAuth<{ Bindings: Env }>({
      verifyToken: (token) => isKey(token, keys),
      noAuthenticationHeader: { message: missingKey },
      // Not "Bearer <token>" (another scheme, or no token): the same answer as no header.
      invalidAuthenticationHeader: { message: missingKey },
      invalidToken: { message: wrongKey },
    })(c, next);
  };
}
