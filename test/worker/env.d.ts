/// <reference types="@cloudflare/vitest-pool-workers" />
declare module "cloudflare:test" {
  interface ProvidedEnv extends import("../../worker/env.js").Env {}
}
