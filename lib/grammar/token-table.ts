/**
 * The model's vocabulary as the grammar engine needs it: the bytes every token id stands for, back to back.
 * Control tokens (and ids past the tokenizer, a model's padding rows) get llguidance's 0xFF marker, so no grammar
 * ever writes them as text; the end-of-generation ids are the grammar's "end" tokens.
 */
import { InvalidArgumentError } from "../errors.js";
import { TokenType, type Tokenizer } from "../tokenizer/index.js";

export interface TokenTable {
  /** Every token's bytes, concatenated. */
  bytes: Uint8Array;
  /** ends[i]: offset in `bytes` where token i ends (it starts where token i−1 ended). */
  ends: Uint32Array;
  /** Ids that end a generation: allowed exactly when the grammar is complete. */
  eos: Uint32Array;
}

const SPECIAL_MARKER = 0xff;
const utf8 = new TextEncoder();

export function tokenTable(tokenizer: Tokenizer, vocabSize: number): TokenTable {
  const parts: Uint8Array[] = [];
  const ends = new Uint32Array(vocabSize);
  let total = 0;
  for (let id = 0; id < vocabSize; id++) {
    const bytes = tokenBytes(tokenizer, id);
    parts.push(bytes);
    total += bytes.length;
    ends[id] = total;
  }
  const bytes = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  const eos = tokenizer.endOfGenerationIds().filter((id) => id < vocabSize);
  if (eos.length === 0) throw new InvalidArgumentError("this model has no end-of-generation token, which constrained generation needs", "responseFormat");
  return { bytes, ends, eos: Uint32Array.from(eos) };
}

function tokenBytes(tokenizer: Tokenizer, id: number): Uint8Array {
  if (id >= tokenizer.vocabSize) return special(`<[${id}]>`);
  const type = tokenizer.tokenType(id);
  if (tokenizer.isSpecial(id) || type === TokenType.Unknown || type === TokenType.Unused) return special(tokenizer.tokenToPiece(id) || `<[${id}]>`);
  const bytes = tokenizer.tokenToBytes(id);
  return bytes.length > 0 ? bytes : special(`<[${id}]>`);
}

function special(name: string): Uint8Array {
  const text = utf8.encode(name);
  const out = new Uint8Array(text.length + 1);
  out[0] = SPECIAL_MARKER;
  out.set(text, 1);
  return out;
}
