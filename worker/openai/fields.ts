/** Typed readers for one field of a JSON request object; each failure is a 400 naming the field and the reason. */
import { invalidRequest } from "../http/errors.js";

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `null` counts as absent, as in OpenAI's API. */
const absent = (v: unknown) => v === undefined || v === null;

export function optNumber(body: Json, field: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (absent(v)) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalidRequest(`'${field}' must be a number.`, field, "invalid_type");
  if (v < min || v > max) throw invalidRequest(`'${field}' must be between ${min} and ${max}, got ${v}.`, field);
  return v;
}

export function optInteger(body: Json, field: string, min: number, max: number): number | undefined {
  const v = optNumber(body, field, min, max);
  if (v !== undefined && !Number.isInteger(v)) throw invalidRequest(`'${field}' must be an integer, got ${v}.`, field, "invalid_type");
  return v;
}

export function optBoolean(body: Json, field: string): boolean | undefined {
  const v = body[field];
  if (absent(v)) return undefined;
  if (typeof v !== "boolean") throw invalidRequest(`'${field}' must be a boolean.`, field, "invalid_type");
  return v;
}

export function optString(body: Json, field: string): string | undefined {
  const v = body[field];
  if (absent(v)) return undefined;
  if (typeof v !== "string") throw invalidRequest(`'${field}' must be a string.`, field, "invalid_type");
  return v;
}

export function requiredString(body: Json, field: string): string {
  const v = optString(body, field);
  if (v === undefined || v.length === 0) throw invalidRequest(`'${field}' is required.`, field, "missing_required_parameter");
  return v;
}
