/** Shared helpers of the Worker tests: R2 seeding from the FIXTURES service binding, and authenticated requests. */
import { SELF, env } from "cloudflare:test";

export const BASE = "https://edge.test";
export const KEY = "test-key-2";

/** Copies the fixture files the test catalog names into the real (miniflare) R2 bucket, once per isolate. */
export async function seedModels(): Promise<void> {
  for (const name of ["tiny-llama.gguf", "tiny-llama-truncated.gguf", "stories260K.gguf"]) {
    const key = `test/${name}`;
    if (await env.MODELS.head(key)) continue;
    const res = await env.FIXTURES.fetch(`https://fixtures/${name}`);
    if (res.status === 404 && name === "stories260K.gguf") {
      await res.arrayBuffer();
      continue; // ../shared absent: the catalog has no "stories" entry either
    }
    if (!res.ok) throw new Error(`fixture ${name}: HTTP ${res.status}`);
    await env.MODELS.put(key, await res.arrayBuffer());
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
