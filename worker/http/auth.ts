/** Bearer-key check. Keys are compared as SHA-256 digests so the comparison time depends on neither key's content nor length. */
import { HttpError } from "./errors.js";

const encoder = new TextEncoder();

async function digest(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(s)));
}

function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}

/** Throws 401 unless `authorization` carries one of `keys`; every key is compared (no early exit). */
export async function requireBearer(authorization: string | null | undefined, keys: readonly string[]): Promise<void> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match) {
    throw new HttpError(401, "authentication_error", "Missing API key: send 'Authorization: Bearer <key>'.", null, "missing_api_key");
  }
  const given = await digest(match[1]!);
  let ok = false;
  for (const key of keys) ok = equalDigests(given, await digest(key)) || ok;
  if (!ok) throw new HttpError(401, "authentication_error", "Incorrect API key provided.", null, "invalid_api_key");
}
