/**
 * The model catalog entry (`models/<id>.json`) and its validator. The same function runs in the test suite over
 * every file in models/, in scripts/models-add.mjs' output check, and in the Worker at startup — so a bad entry is
 * caught before deploy and never half-works in production.
 */
export type BackendKind = "edge" | "origin" | "auto";

export interface CatalogEntry {
  /** The name clients pass as `model`. */
  id: string;
  /** Object key of the GGUF in the MODELS bucket (not needed by origin-only entries, like bytes and sha256). */
  r2Key?: string;
  bytes?: number;
  /** Lowercase hex SHA-256 of the GGUF; checked on every load. */
  sha256?: string;
  format: "gguf";
  /** GGUF weight type, e.g. "Q4_0", "Q8_0", "F32" (informational, shown by /v1/models). */
  quantization: string;
  /** Context (tokens) to serve: at most the model's trained context. */
  contextLength: number;
  /** Jinja chat template replacing the one in the GGUF. */
  chatTemplate?: string;
  backend: BackendKind;
  /** The model name on the origin server (required when backend is "origin"). */
  origin?: { model: string };
  description?: string;
  architecture?: string;
  /** Bytes of f16 KV cache per context position (models-add reads it from the GGUF): lets "auto" count the KV cache. */
  kvBytesPerToken?: number;
  /** Unix seconds the entry was added (OpenAI's `created`). */
  created?: number;
}

const KEYS = new Set([
  "id", "r2Key", "bytes", "sha256", "format", "quantization", "contextLength", "chatTemplate", "backend", "origin",
  "description", "architecture", "kvBytesPerToken", "created", "$schema",
]);
const ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

export class CatalogError extends Error {
  constructor(where: string, field: string, why: string) {
    super(`${where}: '${field}' ${why}`);
    this.name = "CatalogError";
  }
}

/** Checks one entry; `where` names its source (file name or index) in error messages. */
export function validateCatalogEntry(value: unknown, where: string): CatalogEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CatalogError(where, "(entry)", "must be a JSON object");
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!KEYS.has(key)) throw new CatalogError(where, key, "is not a catalog field");
  const fail = (field: string, why: string): never => {
    throw new CatalogError(where, field, why);
  };
  const str = (field: string, optional = false): string | undefined => {
    const x = v[field];
    if (x === undefined && optional) return undefined;
    if (typeof x !== "string" || x.length === 0) fail(field, "must be a non-empty string");
    return x as string;
  };
  const posInt = (field: string, optional = false): number | undefined => {
    const x = v[field];
    if (x === undefined && optional) return undefined;
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x <= 0) fail(field, "must be a positive integer");
    return x as number;
  };

  const id = str("id")!;
  if (!ID.test(id)) fail("id", "may only contain letters, digits and . _ : / - (at most 128 characters)");
  if (v.format !== "gguf") fail("format", "must be \"gguf\"");
  const backend = v.backend;
  if (backend !== "edge" && backend !== "origin" && backend !== "auto") fail("backend", "must be \"edge\", \"origin\" or \"auto\"");
  // The weights' location and identity: required wherever the edge may load them.
  const originOnly = backend === "origin";
  const sha256 = str("sha256", originOnly);
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) fail("sha256", "must be 64 lowercase hex digits");
  const r2Key = str("r2Key", originOnly);
  const bytes = posInt("bytes", originOnly);
  let origin: { model: string } | undefined;
  if (v.origin !== undefined) {
    const o = v.origin as Record<string, unknown>;
    if (typeof o !== "object" || o === null || typeof o.model !== "string" || o.model.length === 0 || Object.keys(o).length !== 1) {
      fail("origin", "must be {\"model\": \"<name on the origin server>\"}");
    }
    origin = { model: o.model as string };
  }
  if (backend === "origin" && !origin) fail("origin", "is required when backend is \"origin\"");

  const entry: CatalogEntry = {
    id,
    ...(r2Key !== undefined ? { r2Key } : {}),
    ...(bytes !== undefined ? { bytes } : {}),
    ...(sha256 !== undefined ? { sha256 } : {}),
    format: "gguf",
    quantization: str("quantization")!,
    contextLength: posInt("contextLength")!,
    backend: backend as BackendKind,
  };
  const chatTemplate = str("chatTemplate", true);
  if (chatTemplate !== undefined) entry.chatTemplate = chatTemplate;
  if (origin) entry.origin = origin;
  const description = str("description", true);
  if (description !== undefined) entry.description = description;
  const architecture = str("architecture", true);
  if (architecture !== undefined) entry.architecture = architecture;
  const kvBytesPerToken = posInt("kvBytesPerToken", true);
  if (kvBytesPerToken !== undefined) entry.kvBytesPerToken = kvBytesPerToken;
  const created = posInt("created", true);
  if (created !== undefined) entry.created = created;
  return entry;
}

/** Where the edge finds an entry's weights; validated entries that the edge may serve always have them. */
export function edgeWeights(entry: CatalogEntry): { r2Key: string; bytes: number; sha256: string } {
  const { r2Key, bytes, sha256 } = entry;
  if (r2Key === undefined || bytes === undefined || sha256 === undefined) {
    throw new CatalogError(entry.id, "r2Key", "bytes and sha256 are required to serve this model on the edge");
  }
  return { r2Key, bytes, sha256 };
}

/** Validates a list of entries and checks that ids are unique. */
export function validateCatalog(values: readonly unknown[], where = "catalog"): CatalogEntry[] {
  const seen = new Set<string>();
  return values.map((value, i) => {
    const entry = validateCatalogEntry(value, `${where}[${i}]`);
    if (seen.has(entry.id)) throw new CatalogError(`${where}[${i}]`, "id", `"${entry.id}" appears twice`);
    seen.add(entry.id);
    return entry;
  });
}
