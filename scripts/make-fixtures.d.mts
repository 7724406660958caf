import type { GgufWriter } from "../lib/gguf/writer.js";
export declare const GENERATOR_VERSION: number;
export declare const DEFAULT_FIXTURE_DIR: string;
export declare const FIXTURES: Record<string, { shape: string; type: string }>;
export interface FixtureVariant {
  /** Replaces or adds metadata keys ([value, type]); null drops a key. */
  metadata?: Record<string, [unknown, string] | null>;
  /** Replaces a tensor's declared dims, type or bytes. */
  tensors?: Record<string, { dims?: number[]; type?: string; source?: Uint8Array | (() => unknown) }>;
}
/** Builds the writer for fixture `name` (tensors produced lazily while writing); `variant` makes defective copies. */
export declare function buildFixture(name: string, variant?: FixtureVariant): GgufWriter;
/** Path of fixture `name` in `outDir` (default test/.fixtures), generated unless an up-to-date copy exists. */
export declare function makeFixture(name: string, outDir?: string): Promise<string>;
