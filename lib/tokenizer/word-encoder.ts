/**
 * Encodes one pre-token ("word", already in the model's alphabet: byte-level chars or `▁`-escaped text) into ids.
 * Two ways of ranking merges: a merges list (GPT-2 / Hugging Face BPE: earlier = better) or piece scores
 * (SentencePiece BPE: the merged piece with the highest score wins). Symbols left outside the vocabulary fall back to
 * `<0xNN>` byte tokens when the model has them, else to the unknown token.
 */
import { InvalidArgumentError, ModelFormatError } from "../errors.js";
import { BpeMerger, PairTable, type PairLookup } from "./bpe-merge.js";
import { utf8Encode } from "./utf8.js";

export type MergeRanking =
  | { kind: "merges"; merges: ReadonlyArray<readonly [string, string]> }
  /** Merges already resolved to (left, right, merged) ids, in rank order (the GGUF loader's compact form). */
  | { kind: "merge-ids"; ids: Int32Array }
  | { kind: "scores"; scores: ArrayLike<number>; mergeable: (id: number) => boolean };

export interface WordEncoderOptions {
  vocab: ReadonlyMap<string, number>;
  ranking: MergeRanking;
  /** A whole word already in the vocabulary is one token, merges are skipped (Llama 3's `ignore_merges`). */
  ignoreMerges?: boolean;
  /** id of `<0x00>`..`<0xFF>`, or undefined when the model has no byte fallback. */
  byteTokenIds?: Int32Array;
  unkId?: number;
  /**
   * Spells a raw word in the vocabulary's alphabet (byte-level: UTF-8 bytes as GPT-2 chars). Applied only on a cache
   * miss, so repeated words cost one Map lookup.
   */
  spell?: (word: string) => string;
}

const CACHE_LIMIT = 50_000;
const HAS_SURROGATE = /[\uD800-\uDFFF]/;
/** Longer words (a whole SentencePiece fragment, a run of 4 KB of spaces) are not worth keeping. */
const CACHE_MAX_WORD = 128;

export class WordEncoder {
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly merger: BpeMerger;
  private readonly ignoreMerges: boolean;
  private readonly byteTokenIds: Int32Array | undefined;
  private readonly unkId: number | undefined;
  private readonly cache = new Map<string, readonly number[]>();
  private readonly spell: ((word: string) => string) | undefined;

  constructor(opts: WordEncoderOptions) {
    this.vocab = opts.vocab;
    this.ignoreMerges = opts.ignoreMerges ?? false;
    this.byteTokenIds = opts.byteTokenIds;
    this.unkId = opts.unkId;
    this.spell = opts.spell;
    const ranking = opts.ranking;
    this.merger = new BpeMerger(
      ranking.kind === "scores" ? scoresLookup(opts.vocab, ranking) : idsLookup(ranking.kind === "merges" ? mergeIds(opts.vocab, ranking.merges) : ranking.ids),
    );
  }

  /** Appends the ids of `word` (a raw pre-token; see `spell`) to `out`. */
  encode(word: string, out: number[]): void {
    if (word.length === 0) return;
    const cached = this.cache.get(word);
    if (cached !== undefined) {
      for (const id of cached) out.push(id);
      return;
    }
    const ids = this.encodeUncached(this.spell ? this.spell(word) : word);
    if (word.length > CACHE_MAX_WORD) {
      for (const id of ids) out.push(id);
      return;
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    for (const id of ids) out.push(id);
  }

  private encodeUncached(word: string): number[] {
    if (this.ignoreMerges) {
      const whole = this.vocab.get(word);
      if (whole !== undefined) return [whole];
    }
    // Symbols are code points, not UTF-16 units (split("") is the fast path when there is no surrogate pair).
    const texts = HAS_SURROGATE.test(word) ? Array.from(word) : word.split("");
    const ids = texts.map((t) => this.vocab.get(t) ?? -1);
    const n = this.merger.merge(texts, ids);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (id >= 0) out.push(id);
      else this.fallback(texts[i]!, out);
    }
    return out;
  }

  private fallback(symbol: string, out: number[]): void {
    if (this.byteTokenIds !== undefined) {
      for (const b of utf8Encode(symbol)) out.push(this.byteTokenIds[b]!);
      return;
    }
    if (this.unkId !== undefined) {
      out.push(this.unkId);
      return;
    }
    throw new InvalidArgumentError(
      `text contains ${JSON.stringify(symbol)} (U+${symbol.codePointAt(0)!.toString(16).toUpperCase()}), which this vocabulary cannot represent (no byte fallback, no unknown token)`,
      "text",
    );
  }
}

export function missingMergePiece(rank: number, a: string, b: string): ModelFormatError {
  return new ModelFormatError(`merge #${rank} "${a} ${b}" refers to a piece missing from the vocabulary`);
}

/** (left, right, merged) ids per merge, in rank order. */
function mergeIds(vocab: ReadonlyMap<string, number>, merges: ReadonlyArray<readonly [string, string]>): Int32Array {
  const ids = new Int32Array(merges.length * 3);
  merges.forEach(([a, b], rank) => {
    const l = vocab.get(a);
    const r = vocab.get(b);
    const id = vocab.get(a + b);
    if (l === undefined || r === undefined || id === undefined) throw missingMergePiece(rank, a, b);
    ids[3 * rank] = l;
    ids[3 * rank + 1] = r;
    ids[3 * rank + 2] = id;
  });
  return ids;
}

function idsLookup(ids: Int32Array): PairLookup {
  const merges = ids.length / 3;
  const rankOf = new PairTable(merges);
  const result = new Int32Array(merges); // the merged ids alone: the triples need not stay alive
  for (let rank = 0; rank < merges; rank++) {
    rankOf.insert(ids[3 * rank]!, ids[3 * rank + 1]!, rank); // first occurrence wins, like HF
    result[rank] = ids[3 * rank + 2]!;
  }
  return (l, r, _a, _b, out) => {
    if (l < 0 || r < 0) return false;
    const rank = rankOf.get(l, r);
    if (rank < 0) return false;
    out.rank = rank;
    out.id = result[rank]!;
    return true;
  };
}

function scoresLookup(vocab: ReadonlyMap<string, number>, ranking: Extract<MergeRanking, { kind: "scores" }>): PairLookup {
  return (_l, _r, a, b, out) => {
    const id = vocab.get(a + b);
    if (id === undefined || !ranking.mergeable(id)) return false;
    out.rank = -ranking.scores[id]!;
    out.id = id;
    return true;
  };
}

/** Finds the 256 `<0xNN>` pieces; undefined when the vocabulary lacks any of them. */
export function findByteTokens(vocab: ReadonlyMap<string, number>): Int32Array | undefined {
  const ids = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    const id = vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    if (id === undefined) return undefined;
    ids[b] = id;
  }
  return ids;
}
