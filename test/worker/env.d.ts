/// <reference types="@cloudflare/vitest-pool-workers" />
/// <reference types="vite/client" />
declare module "cloudflare:test" {
  type WorkerEnv = import("../../worker/env.js").Env;
  interface ProvidedEnv extends WorkerEnv {
    /** Test-only service binding (vitest.worker.config.ts): serves fixture files from the Node side. */
    FIXTURES: Fetcher;
    /** "yes" when ../shared/models/stories260K.gguf exists (the catalog then has the "stories" model). */
    HAVE_STORIES: string;
    /** JSON array of the hostile template names; the catalog's `hostile-template-<i>` uses the i-th. */
    HOSTILE_TEMPLATES: string;
    /** JSON [{name, file, error (a RegExp source), atSampling}]: the catalog's `defect-<i>` serves the i-th file. */
    DEFECTS: string;
  }
}
