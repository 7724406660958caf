/**
 * Node entry point: everything from the core, plus file paths (`Llama.load({model: "./m.gguf"})`,
 * `ModelArgs.fromConfigFile(path)`) and automatic engine instantiation from the shipped .wasm.
 */
import { platform } from "../platform.js";
import { loadEngineNode, loadGrammarModuleNode } from "./engine.js";
import { nodeFiles } from "./files.js";

platform.install({ files: nodeFiles, loadEngine: loadEngineNode, loadGrammarModule: loadGrammarModuleNode });

export * from "../index.js";
export { loadEngineNode } from "./engine.js";
