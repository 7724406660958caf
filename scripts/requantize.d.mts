/** A weight format of the agreement test and `bench:compare --formats` (see requantize.mjs). */
export interface RequantFormat {
  type: string;
  /** Type for matrices whose rows are not whole `type` blocks. */
  fallback?: string;
  /** llama.cpp's general.file_type for it. */
  ftype?: number;
}
export declare const REQUANT_FORMATS: readonly RequantFormat[];
export declare const REQUANT_DIR: string;
export declare function requantized(src: string, type: string, dir?: string): Promise<string>;
export declare function requantize(src: string, type: string, out: string): Promise<void>;
