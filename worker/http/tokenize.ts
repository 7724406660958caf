/**
 * llama.cpp server's `POST /tokenize` and `POST /detokenize` over a catalog model's own tokenizer. The loaded model's
 * tokenizer answers at once (plain synchronous JS, no turn needed); another model is loaded first, under the model's
 * turn like a generation's load. As in llama.cpp, special-token text in `content` (`<s>`, `<|im_start|>`) is parsed
 * as the control token (`parse_special: false` keeps it text), `add_special` (default false) adds BOS/EOS as the model
 * does for prompts, a piece is the token's bytes in decoded text (a string when valid UTF-8, else a byte array), and
 * detokenizing renders special tokens as their text.
 */
import { InvalidArgumentError } from "../../lib/errors.js";
import type { ModelTurn } from "../../lib/turn.js";
import type { Tokenizer } from "../../lib/tokenizer/index.js";
import { edgeContextLength } from "../backend/edge.js";
import { toHttpError } from "../backend/errors.js";
import type { CatalogEntry } from "../catalog/schema.js";
import type { Env } from "../env.js";
import * as v from "valibot";
import { bool, object, optional, parseOr400, str } from "../openai/fields.js";
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

const body = object("Request body must be a JSON object.");
const tokenizeSchema = v.pipe(body, v.object({
  model: optional(str()),
  content: str(),
  add_special: optional(bool()),
  parse_special: optional(bool()),
  with_pieces: optional(bool()),
}));
/** The ids are checked against the vocabulary by the model's tokenizer. */
const detokenizeSchema = v.pipe(body, v.object({
  model: optional(str()),
  tokens: v.array(v.unknown(), (issue) => (issue.input === undefined ? "is required." : "must be an array of token ids.")),
}));

export async function tokenize(input: unknown, ctx: TokenizerContext): Promise<{ tokens: number[] | { id: number; piece: Piece }[] }> {
  const req = parseOr400(tokenizeSchema, input);
  const addSpecial = req.add_special ?? false;
  const parseSpecial = req.parse_special ?? true;
  return withTokenizer(req.model, ctx, (tok) => {
    const ids = tok.encode(req.content, addSpecial ? { parseSpecial } : { addBos: false, addEos: false, parseSpecial });
    return { tokens: req.with_pieces ? ids.map((id) => ({ id, piece: piece(tok, id) })) : ids };
  });
}

export async function detokenize(input: unknown, ctx: TokenizerContext): Promise<{ content: string }> {
  const { model, tokens } = parseOr400(detokenizeSchema, input);
  return withTokenizer(model, ctx, (tok) => {
    try {
      return { content: tok.decode(tokens as number[]) };
    } catch (e) {
      // The tokenizer checks each id against its vocabulary.
      if (e instanceof InvalidArgumentError) throw invalidRequest(`'tokens': ${e.message}.`, "tokens");
      throw e;
    }
  });
}

function piece(tok: Tokenizer, id: number): Piece {
  const bytes = tok.tokenToBytes(id);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return Array.from(bytes);
  }
}

async function withTokenizer<T>(model: string | undefined, ctx: TokenizerContext, use: (tok: Tokenizer) => T): Promise<T> {
  const entry = ctx.findModel(model);
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
