/** Bindings and variables the Worker receives (see wrangler.toml). */
export interface Env {
  MODELS: R2Bucket;
}
