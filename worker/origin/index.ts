/** The isolate's origin backend (stats and breakers live as long as the isolate) and what the router needs. */
import { OriginBackend } from "./backend.js";

export { OriginBackend } from "./backend.js";
export { isOriginConfigured, readOriginConfig, type OriginEnv } from "./config.js";

export const originBackend = new OriginBackend();
