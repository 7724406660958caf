/**
 * Valibot field schemas for JSON request bodies, and the one mapping of a schema's first issue to our OpenAI 400:
 * `param` is the field's path (`messages[0].content[1].type`), the message `'<param>' <what the schema says>`.
 * Codes follow the issue: a missing required field → missing_required_parameter, a wrong JSON type →
 * invalid_type, a value out of range → invalid_value; `checkAs` names its own code (unsupported_parameter …).
 */
import * as v from "valibot";
import { HttpError, invalidRequest, unsupportedParameter } from "../http/errors.js";

export type Json = Record<string, unknown>;

export function isObject(x: unknown): x is Json {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

type Code = "invalid_type" | "invalid_value" | "missing_required_parameter" | "unsupported_parameter";
const CODES: readonly string[] = ["invalid_type", "invalid_value", "missing_required_parameter", "unsupported_parameter"];

/** A check whose failure has its own code and message; `test` sees the typed value. */
export function checkAs<T>(code: Code, test: (x: T) => boolean, message: string | ((x: T) => string)) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (dataset.typed && !test(dataset.value)) {
      addIssue({ expected: code, message: typeof message === "string" ? message : message(dataset.value) });
    }
  });
}

/** A field we know and refuse whatever its value: a 400 `Parameter '<field>' <why>.` */
export const refused = (why: string) => v.pipe(v.unknown(), checkAs("unsupported_parameter", () => false, why));

/** `null` counts as absent, as in OpenAI's API; absent reads as undefined. */
export const optional = <S extends v.GenericSchema>(s: S) =>
  v.pipe(v.nullish(s), v.transform((x): v.InferOutput<S> | undefined => x ?? undefined));

const missingOr = (message: string) => (issue: v.BaseIssue<unknown>) =>
  issue.input === undefined || issue.input === null ? "is required." : message;

export const str = () => v.string(missingOr("must be a string."));
/** A required, non-empty string. */
export const requiredString = () => v.pipe(str(), checkAs("missing_required_parameter", (s: string) => s.length > 0, "is required."));
export const bool = () => v.boolean("must be a boolean.");

const between = (min: number, max: number) => (issue: v.BaseIssue<unknown>) => `must be between ${min} and ${max}, got ${String(issue.input)}.`;

export const number = (min: number, max: number) =>
  v.pipe(v.number(missingOr("must be a number.")), v.finite("must be a number."), v.minValue(min, between(min, max)), v.maxValue(max, between(min, max)));

export const integer = (min: number, max: number) =>
  v.pipe(number(min, max), v.integer((issue) => `must be an integer, got ${String(issue.input)}.`));

/** A JSON object (valibot's object schemas would also take an array). */
export const object = (message = "must be an object.") => v.custom<Json>(isObject, missingOr(message));

/** `messages[0].content` from valibot's path. */
function paramOf(issue: v.BaseIssue<unknown>): string | null {
  let param = "";
  for (const item of issue.path ?? []) {
    param += typeof item.key === "number" ? `[${item.key}]` : param === "" ? String(item.key) : `.${String(item.key)}`;
  }
  return param === "" ? null : param;
}

/** The schema's first issue as our 400. */
function issueError(issue: v.BaseIssue<unknown>): HttpError {
  const param = paramOf(issue);
  const last = issue.path?.at(-1);
  if (last?.origin === "key") {
    // A key the object does not know, or a required key it lacks.
    if (issue.expected !== "never") return invalidRequest(`'${param}' is required.`, param, "missing_required_parameter");
    const message = issue.path!.length === 1 ? `Unrecognized request argument supplied: ${param}` : `Unrecognized field '${param}'.`;
    return invalidRequest(message, param, "unknown_parameter");
  }
  if (param === null) return invalidRequest(issue.message, null, "invalid_type");
  const code: Code =
    issue.expected !== null && CODES.includes(issue.expected)
      ? (issue.expected as Code)
      : issue.kind === "schema" && (issue.input === undefined || issue.input === null)
        ? "missing_required_parameter"
        : issue.kind === "schema" || issue.type === "integer"
          ? "invalid_type"
          : "invalid_value";
  if (code === "unsupported_parameter") return unsupportedParameter(param, issue.message);
  return invalidRequest(`'${param}' ${issue.message}`, param, code);
}

/** Parses `input` with `schema`, or throws the 400 of its first issue. */
export function parseOr400<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortEarly: true });
  if (result.success) return result.output;
  throw issueError(result.issues[0]);
}
