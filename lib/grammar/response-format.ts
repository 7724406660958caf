/** Response formats → the grammar that enforces them (JSON Schema text for llguidance). */
import { InvalidArgumentError } from "../errors.js";
import type { ResponseFormat } from "../types.js";
import { resolveGrammar } from "./wasm.js";

/** What the grammar module compiles: a kind it knows and the grammar's source text. */
export interface GrammarSpec {
  kind: "json_schema" | "lark";
  source: string;
}

/** Undefined for plain text (no constraint). */
export function grammarFor(format: ResponseFormat | undefined): GrammarSpec | undefined {
  if (format === undefined || format === null) return undefined;
  if (typeof format !== "object") throw new InvalidArgumentError("responseFormat must be an object", "responseFormat");
  switch (format.type) {
    case "text":
      return undefined;
    case "json_object":
      // OpenAI's JSON mode: any JSON object.
      return { kind: "json_schema", source: '{"type":"object"}' };
    case "json_schema": {
      const schema: unknown = format.schema;
      if (typeof schema !== "boolean" && (typeof schema !== "object" || schema === null || Array.isArray(schema))) {
        throw new InvalidArgumentError("responseFormat.schema must be a JSON Schema (an object)", "responseFormat.schema");
      }
      return { kind: "json_schema", source: JSON.stringify(schema) };
    }
    default:
      throw new InvalidArgumentError(
        `responseFormat.type must be "text", "json_object" or "json_schema", got ${JSON.stringify((format as { type?: unknown }).type)}`,
        "responseFormat.type",
      );
  }
}

/**
 * Compiles the format's grammar without a model (over a byte vocabulary), so an unsupported schema is refused
 * before any weights load. Throws InvalidArgumentError with the grammar engine's reason (e.g. the keywords it lacks).
 */
export async function checkResponseFormat(format: ResponseFormat | undefined): Promise<void> {
  const spec = grammarFor(format);
  if (!spec) return;
  const grammar = await resolveGrammar();
  try {
    grammar.checkJsonSchema(spec.source);
  } catch (e) {
    throw new InvalidArgumentError(`responseFormat: the schema cannot be used: ${e instanceof Error ? e.message : String(e)}`, "responseFormat.schema");
  }
}
