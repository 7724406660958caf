/**
 * Tool calls as a grammar (llguidance's Lark dialect): a call is `<tool_call>\n{"name":"<tool>","arguments":<JSON
 * matching that tool's parameters>}\n</tool_call>`, one or more of them (parallel_tool_calls), then the end.
 * - required / a named tool: the output is calls only, from its first byte.
 * - auto: a lazy grammar — free text that never spells the call marker, or text up to the marker (a lazy lexeme
 *   that ends at the first `<tool_call>`) followed by constrained calls. Until the model writes the marker it is
 *   unconstrained; from the marker on every byte must be a valid call.
 * Where the marker is one special token of the vocabulary (Qwen's `<tool_call>`), the grammar names that token.
 */
import { InvalidArgumentError } from "../errors.js";
import { argumentsSchema, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, type ToolSetup } from "../chat/tools.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { GrammarSpec } from "./response-format.js";
import { resolveGrammar } from "./wasm.js";

/** Compact JSON for arguments (no whitespace between tokens), as for response formats. */
const COMPACT = { whitespace_flexible: false, item_separator: ",", key_separator: ":" };

/** How the grammar writes a marker: a quoted string, or the bare name of a special token. */
function markerAtom(tokenizer: Tokenizer | undefined, text: string): string {
  if (tokenizer) {
    const ids = tokenizer.encode(text, { addBos: false, parseSpecial: true });
    if (ids.length === 1 && tokenizer.isSpecial(ids[0]!)) return text;
  }
  return JSON.stringify(text);
}

function argumentsGrammar(schema: Record<string, unknown>, param: string): string {
  if ("x-guidance" in schema) throw new InvalidArgumentError(`${param} must not carry x-guidance`, param);
  return `%json ${JSON.stringify({ ...schema, "x-guidance": COMPACT })}`;
}

/** The Lark grammar for `setup`'s calls (and, for auto, the text around them). */
export function toolCallGrammar(setup: ToolSetup, tokenizer?: Tokenizer): GrammarSpec {
  const open = markerAtom(tokenizer, TOOL_CALL_OPEN);
  const close = markerAtom(tokenizer, TOOL_CALL_CLOSE);
  const special = !open.startsWith('"');
  const rules: string[] = [];
  const bodies = setup.callable.map((tool, i) => {
    const param = `tools[${setup.tools.indexOf(tool)}].function.parameters`;
    rules.push(`args_${i}: ${argumentsGrammar(argumentsSchema(tool), param)}`);
    return `${JSON.stringify(`{"name":${JSON.stringify(tool.function.name)},"arguments":`)} args_${i} "}"`;
  });
  rules.push(`body: ${bodies.join(" | ")}`);
  rules.push(`call_rest: "\\n" body "\\n" ${close}`);
  rules.push(`more: ${setup.parallel ? `("\\n" ${open} call_rest)*` : '""'}`);
  if (setup.mode === "required") {
    rules.unshift(`start: ${open} call_rest more`);
  } else if (special) {
    // The marker is a token no text can spell: text, then optionally calls.
    rules.unshift(`start: TEXT | TEXT ${open} call_rest more`, "TEXT: /(.|\\n)*/");
  } else {
    const marker = TOOL_CALL_OPEN.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    rules.unshift(
      "start: TEXT | prefix call_rest more",
      `TEXT: /(.|\\n)*/ & ~/(.|\\n)*${marker}(.|\\n)*/`,
      `prefix[lazy]: /(.|\\n)*${marker}/`,
    );
  }
  return { kind: "lark", source: rules.join("\n") };
}

/**
 * Compiles every callable tool's parameters schema without a model, so an unsupported keyword is refused (naming
 * the tool) before any weights load.
 */
export async function checkToolSchemas(setup: ToolSetup): Promise<void> {
  const grammar = await resolveGrammar();
  for (const tool of setup.callable) {
    const i = setup.tools.indexOf(tool);
    try {
      grammar.checkJsonSchema(JSON.stringify(argumentsSchema(tool)));
    } catch (e) {
      throw new InvalidArgumentError(
        `tools[${i}].function.parameters cannot be used: ${e instanceof Error ? e.message : String(e)}`,
        `tools[${i}].function.parameters`,
      );
    }
  }
}
