/**
 * llama.cpp server's `POST /tokenize` and `POST /detokenize` over a catalog model's own tokenizer. The loaded model's
 * tokenizer answers at once (plain synchronous JS, no turn needed); another model is loaded first, under the model's
 * turn like a generation's load. As in llama.cpp, special-token text in `content` (`<s>`, `<|im_start|>`) is parsed
 * as the control token (`parse_special: false` keeps it text), `add_special` (default false) adds BOS/EOS as the model
 * does for prompts, a piece is the token's bytes in decoded text (a string when valid UTF-8, else a byte array), and
 * detokenizing renders special tokens as their text.
 */
import type { ModelTurn } from "../../lib/turn.js";
import type { Tokenizer } from "../../lib/tokenizer/index.js";
import { edgeContextLength } from "../backend/edge.js";
import { toHttpError } from "../backend/errors.js";
import type { CatalogEntry } from "../catalog/schema.js";
import type { Env } from "../env.js";
import { isObject, optBoolean, optString, type Json } from "../openai/fields.js";
import type { ModelStore } from "../runtime/model-store.js";
import { invalidRequest } from "./errors.js";

export interface TokenizerContext {
  env: Env;
  signal: AbortSignal;
  turn: ModelTurn;
  models: ModelStore;
  maxWaiting: number;
  /** Resolves `model` (undefined: the catalog's first edge model); throws the 404 for an unknown id. */
  findModel: (id: string | undefined) => CatalogEntry;
}

type Piece = string | number[];

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export async function tokenize(body: unknown, ctx: TokenizerContext): Promise<{ tokens: number[] | { id: number; piece: Piece }[] }> {
  const req = object(body);
  if (req.content === undefined || req.content === null) throw invalidRequest("'content' is required.", "content", "missing_required_parameter");
  const content = optString(req, "content")!;
  const addSpecial = optBoolean(req, "add_special") ?? false;
  const parseSpecial = optBoolean(req, "parse_special") ?? true;
  const withPieces = optBoolean(req, "with_pieces") ?? false;
  return withTokenizer(req, ctx, (tok) => {
    const ids = tok.encode(content, addSpecial ? { parseSpecial } : { addBos: false, addEos: false, parseSpecial });
    return { tokens: withPieces ? ids.map((id) => ({ id, piece: piece(tok, id) })) : ids };
  });
}

export async function detokenize(body: unknown, ctx: TokenizerContext): Promise<{ content: string }> {
  const req = object(body);
  const tokens = req.tokens;
  if (!Array.isArray(tokens)) throw invalidRequest("'tokens' must be an array of token ids.", "tokens", tokens === undefined ? "missing_required_parameter" : "invalid_type");
  return withTokenizer(req, ctx, (tok) => {
    tokens.forEach((id, i) => {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= tok.vocabSize) {
        throw invalidRequest(`'tokens[${i}]' must be a token id from 0 to ${tok.vocabSize - 1}, got ${JSON.stringify(id)}.`, "tokens");
      }
    });
    return { content: tok.decode(tokens as number[]) };
  });
}

function object(body: unknown): Json {
  if (!isObject(body)) throw invalidRequest("The request body must be a JSON object.", null, "invalid_type");
  return body;
}

function piece(tok: Tokenizer, id: number): Piece {
  const bytes = tok.tokenToBytes(id);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

async function withTokenizer<T>(req: Json, ctx: TokenizerContext, use: (tok: Tokenizer) => T): Promise<T> {
  const entry = ctx.findModel(optString(req, "model"));
  if (entry.backend === "origin") {
    throw invalidRequest(`The model '${entry.id}' is served by the origin; its tokenizer is not available here.`, "model", "model_not_on_edge");
  }
  const loaded = ctx.models.loaded(entry.id);
  if (loaded) return use(loaded.llama.tokenizer);
  const lease = await ctx.turn.acquire({ signal: ctx.signal, maxWaiting: ctx.maxWaiting }).catch((e: unknown) => {
    throw toHttpError(e, "prompt") ?? e;
  });
  try {
    const { model } = await ctx.models.acquire(entry, {
      bucket: ctx.env.MODELS, maxContext: edgeContextLength(entry, ctx.env), lease, turn: ctx.turn,
    }).catch((e: unknown) => {
      throw toHttpError(e, "prompt") ?? e;
    });
    return use(model.llama.tokenizer);
  } finally {
    lease.release();
  }
}
