/**
 * Builds a tokenizer from a Hugging Face `tokenizer.json` (and optionally its `tokenizer_config.json`). Supported:
 * model BPE (vocab, merges as "a b" strings or pairs, ignore_merges, byte_fallback, unk_token); normalizers NFC/NFKC/
 * NFD/NFKD/Prepend/Replace/Sequence; pre-tokenizers Sequence/Split/ByteLevel/Digits/Metaspace; ByteLevel or
 * SentencePiece-style (Replace ▁, ByteFallback, Fuse, Strip, Metaspace) decoders; added tokens. Anything else raises
 * UnsupportedModelError naming the component.
 */
import { ModelFormatError, UnsupportedModelError } from "../errors.js";
import { textToByteLevel } from "./byte-level.js";
import { compilePattern, digitsStep, GPT2_PATTERN, runSteps, splitStep, type PreTokenizeStep, type SplitBehavior } from "./pretokenizer.js";
import type { AddedToken } from "./special-tokens.js";
import { TextTokenizer } from "./text-tokenizer.js";
import { TokenType } from "./types.js";
import { findByteTokens, WordEncoder } from "./word-encoder.js";

type Json = Record<string, unknown>;

function asObject(v: unknown, what: string): Json {
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch (err) {
      throw new ModelFormatError(`${what} is not valid JSON`, { cause: err });
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ModelFormatError(`${what} must be a JSON object`);
  return v as Json;
}

/** `{content: "<s>"}` or `"<s>"` → "<s>". */
function tokenText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && typeof (v as Json).content === "string") return (v as Json).content as string;
  return undefined;
}

type Normalize = (s: string) => string;

function buildNormalizer(spec: unknown): Normalize | undefined {
  if (spec === null || spec === undefined) return undefined;
  const n = asObject(spec, "normalizer");
  switch (n.type) {
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = n.type;
      return (s) => s.normalize(form);
    }
    case "Prepend": {
      const p = String(n.prepend ?? "");
      return (s) => (s.length > 0 ? p + s : s);
    }
    case "Replace": {
      const pattern = n.pattern as Json | undefined;
      const content = String(n.content ?? "");
      if (pattern && typeof pattern.String === "string") {
        const from = pattern.String;
        return (s) => s.replaceAll(from, content);
      }
      if (pattern && typeof pattern.Regex === "string") {
        const re = compilePattern(pattern.Regex);
        return (s) => s.replace(re, () => content);
      }
      throw new ModelFormatError("normalizer Replace has no String/Regex pattern");
    }
    case "Sequence": {
      const parts = ((n.normalizers as unknown[]) ?? []).map(buildNormalizer).filter((f): f is Normalize => f !== undefined);
      return (s) => parts.reduce((acc, f) => f(acc), s);
    }
    default:
      throw new UnsupportedModelError(`unsupported tokenizer.json normalizer type "${String(n.type)}"`);
  }
}

interface PreTokenizerPlan {
  steps: PreTokenizeStep[];
  byteLevel: boolean;
  /** ByteLevel add_prefix_space: a space before each fragment that does not start with one. */
  prefixSpace: boolean;
  metaspace?: { replacement: string; prepend: "always" | "first" | "never"; split: boolean };
}

function buildPreTokenizer(spec: unknown, plan: PreTokenizerPlan): void {
  if (spec === null || spec === undefined) return;
  const p = asObject(spec, "pre_tokenizer");
  switch (p.type) {
    case "Sequence":
      for (const sub of (p.pretokenizers as unknown[]) ?? []) buildPreTokenizer(sub, plan);
      return;
    case "Split": {
      const pattern = p.pattern as Json | undefined;
      let re: RegExp;
      if (pattern && typeof pattern.Regex === "string") re = compilePattern(pattern.Regex);
      else if (pattern && typeof pattern.String === "string") re = new RegExp(pattern.String.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"), "gu");
      else throw new ModelFormatError("pre_tokenizer Split has no String/Regex pattern");
      plan.steps.push(splitStep(re, (p.behavior as SplitBehavior) ?? "Isolated", p.invert === true));
      return;
    }
    case "ByteLevel":
      plan.byteLevel = true;
      if (p.add_prefix_space === true) plan.prefixSpace = true;
      if (p.use_regex !== false) plan.steps.push(splitStep(compilePattern(GPT2_PATTERN)));
      return;
    case "Digits":
      plan.steps.push(digitsStep(p.individual_digits === true));
      return;
    case "Metaspace": {
      const scheme = (p.prepend_scheme as string | undefined) ?? (p.add_prefix_space === false ? "never" : "always");
      if (scheme !== "always" && scheme !== "first" && scheme !== "never") throw new UnsupportedModelError(`Metaspace prepend_scheme "${scheme}"`);
      plan.metaspace = { replacement: String(p.replacement ?? "\u2581"), prepend: scheme, split: p.split !== false };
      return;
    }
    default:
      throw new UnsupportedModelError(`unsupported tokenizer.json pre_tokenizer type "${String(p.type)}"`);
  }
}

/** Whether the decoder removes the leading space the encoder's prefix added (Strip start=1, or Metaspace). */
function decoderStripsLeadingSpace(spec: unknown): boolean {
  if (spec === null || spec === undefined) return false;
  const d = asObject(spec, "decoder");
  if (d.type === "Sequence") return ((d.decoders as unknown[]) ?? []).some(decoderStripsLeadingSpace);
  if (d.type === "Strip") return Number(d.start ?? 0) > 0;
  if (d.type === "Metaspace") return (d.prepend_scheme ?? "always") !== "never" && d.add_prefix_space !== false;
  return false;
}

function parseMerges(raw: unknown): [string, string][] {
  if (!Array.isArray(raw)) throw new ModelFormatError("tokenizer.json model.merges must be an array");
  return raw.map((m, i): [string, string] => {
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") return [m[0], m[1]];
    if (typeof m === "string") {
      const sp = m.indexOf(" ", 1);
      if (sp > 0) return [m.slice(0, sp), m.slice(sp + 1)];
    }
    throw new ModelFormatError(`tokenizer.json model.merges[${i}] is neither "a b" nor ["a", "b"]`);
  });
}

/**
 * @param tokenizerJson parsed object or JSON text of tokenizer.json
 * @param configJson optional tokenizer_config.json (BOS/EOS names, add_bos_token, chat_template)
 */
export function tokenizerFromHfJson(tokenizerJson: unknown, configJson?: unknown): TextTokenizer {
  const tj = asObject(tokenizerJson, "tokenizer.json");
  const config = configJson === undefined ? {} : asObject(configJson, "tokenizer_config.json");
  const model = asObject(tj.model, "tokenizer.json model");
  if (model.type !== "BPE") throw new UnsupportedModelError(`unsupported tokenizer.json model type "${String(model.type)}" (only BPE)`);
  if ((model.continuing_subword_prefix ?? "") !== "" || (model.end_of_word_suffix ?? "") !== "") {
    throw new UnsupportedModelError("tokenizer.json BPE with continuing_subword_prefix/end_of_word_suffix is not supported");
  }
  const rawVocab = asObject(model.vocab, "tokenizer.json model.vocab");
  const addedRaw = Array.isArray(tj.added_tokens) ? (tj.added_tokens as unknown[]) : [];

  const vocab = new Map<string, number>();
  let size = 0;
  for (const [piece, id] of Object.entries(rawVocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new ModelFormatError(`tokenizer.json vocab entry ${JSON.stringify(piece)} has invalid id ${String(id)}`);
    vocab.set(piece, id as number);
    size = Math.max(size, (id as number) + 1);
  }
  const added: AddedToken[] = addedRaw.map((a, i) => {
    const o = asObject(a, `added_tokens[${i}]`);
    if (typeof o.content !== "string" || !Number.isInteger(o.id) || (o.id as number) < 0) {
      throw new ModelFormatError(`tokenizer.json added_tokens[${i}] needs a string content and a non-negative integer id`);
    }
    return { text: o.content, id: o.id as number, special: o.special === true };
  });
  for (const a of added) size = Math.max(size, a.id + 1);

  const pieces: string[] = new Array<string>(size).fill("");
  const types = new Uint8Array(size).fill(TokenType.Unused);
  for (const [piece, id] of vocab) {
    pieces[id] = piece;
    types[id] = /^<0x[0-9A-F]{2}>$/.test(piece) && model.byte_fallback === true ? TokenType.Byte : TokenType.Normal;
  }
  for (const a of added) {
    pieces[a.id] = a.text;
    types[a.id] = a.special ? TokenType.Control : TokenType.UserDefined;
    if (!vocab.has(a.text)) vocab.set(a.text, a.id);
  }

  const plan: PreTokenizerPlan = { steps: [], byteLevel: false, prefixSpace: false };
  buildPreTokenizer(tj.pre_tokenizer, plan);
  const decoder = tj.decoder as Json | null | undefined;
  const byteLevel = plan.byteLevel || decoder?.type === "ByteLevel";
  const normalize = buildNormalizer(tj.normalizer);
  const unkName = typeof model.unk_token === "string" ? model.unk_token : undefined;
  const unkId = unkName !== undefined ? vocab.get(unkName) : undefined;
  if (unkId !== undefined && types[unkId] === TokenType.Normal) types[unkId] = TokenType.Unknown;

  const wordEncoder = new WordEncoder({
    vocab,
    ranking: { kind: "merges", merges: parseMerges(model.merges) },
    ignoreMerges: model.ignore_merges === true,
    byteTokenIds: model.byte_fallback === true ? findByteTokens(vocab) : undefined,
    unkId,
    spell: byteLevel ? textToByteLevel : undefined,
  });

  const meta = plan.metaspace;
  const toWords = (text: string, atStart: boolean): string[] => {
    let t = normalize ? normalize(text) : text;
    if (meta) {
      t = t.replaceAll(" ", meta.replacement);
      if (t.length > 0 && !t.startsWith(meta.replacement) && (meta.prepend === "always" || (meta.prepend === "first" && atStart))) {
        t = meta.replacement + t;
      }
    }
    if (plan.prefixSpace && t.length > 0 && !/^\s/u.test(t)) t = " " + t;
    let words = runSteps(plan.steps, t);
    if (meta?.split) words = words.flatMap((w) => splitBefore(w, meta.replacement));
    return words;
  };

  const idOf = (name: unknown, key: string): number | undefined => {
    const text = tokenText(name);
    if (text === undefined) return undefined;
    const id = vocab.get(text);
    if (id === undefined) throw new ModelFormatError(`tokenizer_config.json ${key} "${text}" is not in the vocabulary`);
    return id;
  };
  const bosId = idOf(config.bos_token, "bos_token");
  const template = config.chat_template;
  const chatTemplate =
    typeof template === "string"
      ? template
      : Array.isArray(template)
        ? (template as Json[]).find((t) => t.name === "default")?.template as string | undefined
        : undefined;

  return new TextTokenizer({
    pieces,
    types,
    vocab,
    wordEncoder,
    alphabet: byteLevel ? "byte-level" : "sentencepiece",
    toWords,
    added,
    leadingSpace: !byteLevel && decoderStripsLeadingSpace(decoder) ? "strip-first-token" : "keep",
    bosId,
    eosId: idOf(config.eos_token, "eos_token"),
    padId: idOf(config.pad_token, "pad_token"),
    unkId,
    addBos: config.add_bos_token === true || (config.add_bos_token === undefined && postProcessorAddsBos(tj.post_processor, bosId, pieces)),
    addEos: config.add_eos_token === true,
    chatTemplate,
  });
}

/** A TemplateProcessing post-processor whose single template starts with the BOS token. */
function postProcessorAddsBos(spec: unknown, bosId: number | undefined, pieces: readonly string[]): boolean {
  if (bosId === undefined || typeof spec !== "object" || spec === null) return false;
  const p = spec as Json;
  if (p.type === "Sequence") return ((p.processors as unknown[]) ?? []).some((s) => postProcessorAddsBos(s, bosId, pieces));
  if (p.type !== "TemplateProcessing" || !Array.isArray(p.single)) return false;
  const first = p.single[0] as Json | undefined;
  const special = first?.SpecialToken as Json | undefined;
  return special?.id === pieces[bosId];
}

/** Metaspace split: a new word starts at each replacement character. */
function splitBefore(word: string, marker: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = word.indexOf(marker, 1); i > 0; i = word.indexOf(marker, i + marker.length)) {
    out.push(word.slice(start, i));
    start = i;
  }
  out.push(word.slice(start));
  return out.filter((w) => w.length > 0);
}
