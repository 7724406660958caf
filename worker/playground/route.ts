/**
 * `GET /`: the playground page (worker/playground/page.ts), unless the PLAYGROUND variable turns it off. The page
 * is static and holds no secrets; its Content-Security-Policy allows only its own inline script (by hash), its
 * inline styles and requests to this origin.
 */
import type { Context } from "hono";
import type { Env } from "../env.js";
import { PLAYGROUND_SCRIPT, playgroundHtml } from "./page.js";

/** PLAYGROUND=off (or false/0/no) removes the page: `GET /` is then the ordinary 404. */
export function playgroundEnabled(value: string | undefined): boolean {
  return !/^(off|false|0|no)$/i.test((value ?? "").trim());
}

let csp: string | undefined;

async function contentSecurityPolicy(): Promise<string> {
  if (csp) return csp;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(PLAYGROUND_SCRIPT));
  const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
  csp = [
    "default-src 'none'", `script-src 'sha256-${hash}'`, "style-src 'unsafe-inline'", "connect-src 'self'", "img-src data:",
    "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join("; ");
  return csp;
}

export async function playground(c: Context<{ Bindings: Env }>): Promise<Response> {
  if (!playgroundEnabled(c.env.PLAYGROUND)) return c.notFound();
  return new Response(playgroundHtml(), {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": await contentSecurityPolicy(),
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    },
  });
}
