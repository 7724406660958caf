import type { GgufWriter } from "../lib/gguf/writer.js";
export declare const GENERATOR_VERSION: number;
export declare const DEFAULT_FIXTURE_DIR: string;
export declare const FIXTURES: Record<string, { shape: string; type: string }>;
/** Builds the writer for fixture `name` (tensors produced lazily while writing). */
export declare function buildFixture(name: string): GgufWriter;
/** Path of fixture `name` in `outDir` (default test/.fixtures), generated unless an up-to-date copy exists. */
export declare function makeFixture(name: string, outDir?: string): Promise<string>;
