import { existsSync } from "node:fs";
import { resolve } from "node:path";

/**
 * The context of the origin project's model on the edge and on the upstream alike (so both refuse the same long
 * prompt): 512 for stories260K from ../shared, else the generated tiny model's own 256.
 */
export function upstreamContext(): number {
  return existsSync(resolve("../shared/models/stories260K.gguf")) ? 512 : 256;
}
