/** Shared helpers of the Worker tests: R2 seeding from the FIXTURES service binding, and authenticated requests. */
import { SELF, env } from "cloudflare:test";

export const BASE = "https://edge.test";
export const KEY = "test-key-2";

/**
 * Copies one fixture file (served by the FIXTURES binding) into the real (miniflare) R2 bucket as `test/<name>`,
 * once per isolate. Returns false when the Node side has no such fixture.
 */
export async function seedFixture(name: string): Promise<boolean> {
  const key = `test/${name}`;
  if (await env.MODELS.head(key)) return true;
  const res = await env.FIXTURES.fetch(`https://fixtures/${name}`);
  if (res.status === 404) {
    await res.arrayBuffer();
    return false;
  }
  if (!res.ok) throw new Error(`fixture ${name}: HTTP ${res.status}`);
  await env.MODELS.put(key, await res.arrayBuffer());
  return true;
}

/** Copies the fixture files the test catalog names into R2; stories260K only exists when ../shared does. */
export async function seedModels(): Promise<void> {
  for (const name of ["tiny-llama.gguf", "tiny-llama-truncated.gguf", "stories260K.gguf"]) {
    if (!(await seedFixture(name)) && name !== "stories260K.gguf") throw new Error(`fixture ${name}: HTTP 404`);
  }
}

export function post(path: string, body: unknown, init: RequestInit & { key?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json");
  if (init.key !== null) headers.set("authorization", `Bearer ${init.key ?? KEY}`);
  return SELF.fetch(`${BASE}${path}`, { ...init, method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

export function get(path: string, key: string | null = KEY): Promise<Response> {
  return SELF.fetch(`${BASE}${path}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
}

export interface OpenAIError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Parses an SSE body into its `data:` payloads (the last one is "[DONE]"). */
export async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      if (!block.startsWith("data: ")) throw new Error(`not an SSE data block: ${JSON.stringify(block)}`);
      return block.slice("data: ".length);
    });
}

export async function health(): Promise<{
  auth: string;
  model: { loaded: string | null; loads: number; loadFailures: number };
  queue: { running: number; waiting: number; max: number };
  generations: { completed: number; aborted: number; rejected: number; failed: number };
}> {
  const res = await SELF.fetch(`${BASE}/healthz`);
  return res.json();
}
