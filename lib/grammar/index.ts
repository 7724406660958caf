export { GrammarConstraint, GrammarVocabulary, openConstraint } from "./constraint.js";
export { checkResponseFormat, grammarFor, type GrammarSpec } from "./response-format.js";
export { tokenTable, type TokenTable } from "./token-table.js";
export { grammarMemoryBytes, grammarMemoryEstimate, initGrammar, resolveGrammar, type GrammarBindings } from "./wasm.js";
export { checkToolSchemas, toolCallGrammar } from "./tools.js";
