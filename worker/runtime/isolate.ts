/** Per-isolate singletons: the generation slot, the loaded model and the edge backend that uses both. */
import { EdgeBackend } from "../backend/edge.js";
import { ModelStore } from "./model-store.js";
import { GenerationQueue } from "./queue.js";

export const queue = new GenerationQueue();
export const models = new ModelStore();
export const edgeBackend = new EdgeBackend(queue, models);
