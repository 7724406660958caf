/** Parsing of the Worker's string variables (wrangler.toml `[vars]`, secrets): no imports, used by every reader. */

/** A positive integer from a string variable, or the default when unset; a bad value is a deploy error. */
export function intVar(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

export function listVar(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}
