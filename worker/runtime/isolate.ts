/** Per-isolate singletons: the model's turn, the loaded model and the edge backend that uses both. */
import { ModelTurn } from "../../lib/turn.js";
import { EdgeBackend } from "../backend/edge.js";
import { ModelStore } from "./model-store.js";

/**
 * A holder that has made no progress for this long loses the turn to a waiting request. A live client's next pull
 * comes within milliseconds (Cloudflare's edge buffers for slow networks) and a step's yield returns at once, so a
 * holder silent this long has a client that is gone (or not reading, and then it should not hold the isolate).
 * Short, because in local workerd a client that vanished before its headers is only noticed this way.
 */
const TURN_STALE_MS = 250;

export const turn = new ModelTurn({ staleMs: TURN_STALE_MS });
export const models = new ModelStore();
export const edgeBackend = new EdgeBackend(turn, models);
