/** The catalog the Worker serves: the bundled models/ entries, extended or overridden by the CATALOG variable. */
import { bundledCatalog } from "../../models/index.js";
import { validateCatalog, type CatalogEntry } from "./schema.js";

export class Catalog {
  readonly #byId: Map<string, CatalogEntry>;

  constructor(entries: readonly CatalogEntry[]) {
    this.#byId = new Map(entries.map((e) => [e.id, e]));
  }

  get entries(): CatalogEntry[] {
    return [...this.#byId.values()];
  }

  get(id: string): CatalogEntry | undefined {
    return this.#byId.get(id);
  }
}

let cached: { key: string | undefined; catalog: Catalog } | undefined;
let bundled: readonly unknown[] = bundledCatalog;

/** For hosts other than the Worker (`ellm serve` in Node): their own models in place of the bundled models/ entries. */
export function replaceBundledCatalog(entries: readonly unknown[]): void {
  bundled = entries;
  cached = undefined;
}

/** Parsed once per isolate (per distinct CATALOG value); an invalid entry throws, naming the entry and field. */
export function loadCatalog(override: string | undefined): Catalog {
  if (cached && cached.key === override) return cached.catalog;
  const entries = validateCatalog(bundled, bundled === bundledCatalog ? "models/" : "catalog");
  if (override !== undefined && override.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(override);
    } catch (e) {
      throw new Error(`CATALOG is not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new Error("CATALOG must be a JSON array of catalog entries");
    const extra = validateCatalog(parsed, "CATALOG");
    const ids = new Set(extra.map((e) => e.id));
    entries.splice(0, entries.length, ...entries.filter((e) => !ids.has(e.id)), ...extra);
  }
  cached = { key: override, catalog: new Catalog(entries) };
  return cached.catalog;
}
