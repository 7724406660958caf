/**
 * Pre-tokenization: cutting normalized text into words before BPE. The split regexes come from the models' own
 * tokenizer.json files and from llama.cpp's `llama-vocab.cpp` (for GGUF `tokenizer.ggml.pre`), translated to
 * JavaScript: `(?i:…)` groups are expanded (JS has no inline flags before ES2025) and `\s`/`\S` are replaced by the
 * Unicode White_Space set, which is what Oniguruma/Rust regex mean by `\s` (JS's `\s` adds U+FEFF and lacks U+0085).
 */
import { UnsupportedModelError } from "../errors.js";

/** A pre-tokenizer step: maps each piece to sub-pieces. */
export type PreTokenizeStep = (pieces: string[]) => string[];

const WHITE_SPACE = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Translates an Oniguruma-style pattern (as found in tokenizer.json) to a JavaScript `u` regex source. */
export function translatePattern(src: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === "\\") {
      const n = src[i + 1];
      if (n === "s") out += inClass ? WHITE_SPACE : `[${WHITE_SPACE}]`;
      else if (n === "S") {
        if (inClass) throw new UnsupportedModelError(`pre-tokenizer regex uses \\S inside a character class: ${src}`);
        out += `[^${WHITE_SPACE}]`;
      } else out += c + (n ?? "");
      i++;
      continue;
    }
    if (!inClass && src.startsWith("(?i:", i)) {
      const end = src.indexOf(")", i);
      const body = src.slice(i + 4, end);
      if (end < 0 || /[\\[\](){}*+?.^$]/.test(body)) {
        throw new UnsupportedModelError(`pre-tokenizer regex has a case-insensitive group this library cannot translate: ${src}`);
      }
      out += "(?:" + body.replace(/\p{L}/gu, (ch) => (ch.toLowerCase() !== ch.toUpperCase() ? `[${ch.toLowerCase()}${ch.toUpperCase()}]` : ch)) + ")";
      i = end;
      continue;
    }
    if (c === "[" && !inClass) inClass = true;
    else if (c === "]" && inClass) inClass = false;
    out += c;
  }
  return out;
}

export function compilePattern(src: string): RegExp {
  try {
    return new RegExp(translatePattern(src), "gu");
  } catch (err) {
    throw new UnsupportedModelError(`pre-tokenizer regex cannot be compiled: ${src}`, { cause: err });
  }
}

export type SplitBehavior = "Isolated" | "Removed" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

/** Hugging Face `Split`: cut at regex matches; `behavior` says what happens to the matched text. */
export function splitStep(re: RegExp, behavior: SplitBehavior = "Isolated", invert = false): PreTokenizeStep {
  return (pieces) => {
    const out: string[] = [];
    for (const piece of pieces) splitOne(piece, re, behavior, invert, out);
    return out;
  };
}

function splitOne(text: string, re: RegExp, behavior: SplitBehavior, invert: boolean, out: string[]): void {
  // Spans alternate gap/match; with `invert` the regex marks the parts to keep and the gaps are the delimiters.
  const spans: { s: number; e: number; delim: boolean }[] = [];
  let last = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const s = m.index;
    const e = s + m[0].length;
    if (e === s) continue;
    if (s > last) spans.push({ s: last, e: s, delim: invert });
    spans.push({ s, e, delim: !invert });
    last = e;
  }
  if (last < text.length) spans.push({ s: last, e: text.length, delim: invert });

  let pending = ""; // for MergedWithNext
  for (let k = 0; k < spans.length; k++) {
    const sp = spans[k]!;
    const t = text.slice(sp.s, sp.e);
    if (!sp.delim) {
      out.push(pending + t);
      pending = "";
      continue;
    }
    switch (behavior) {
      case "Isolated":
        out.push(t);
        break;
      case "Removed":
        break;
      case "MergedWithPrevious":
        if (out.length > 0 && k > 0 && !spans[k - 1]!.delim) out[out.length - 1] += t;
        else out.push(t);
        break;
      case "MergedWithNext":
        pending += t;
        break;
      case "Contiguous":
        if (k > 0 && spans[k - 1]!.delim) out[out.length - 1] += t;
        else out.push(t);
        break;
    }
  }
  if (pending) out.push(pending);
}

/** Hugging Face `Digits`: digits (Unicode Nd, as Rust's `char::is_numeric` ≈ \p{N}) split from the rest. */
export function digitsStep(individual: boolean): PreTokenizeStep {
  return splitStep(new RegExp(individual ? "\\p{N}" : "\\p{N}+", "gu"), "Isolated");
}

/** Runs steps in order over one text fragment. */
export function runSteps(steps: readonly PreTokenizeStep[], text: string): string[] {
  let pieces = [text];
  for (const step of steps) pieces = step(pieces);
  return pieces;
}

/**
 * Pre-tokenizer steps for a GGUF `tokenizer.ggml.pre` value of a byte-level BPE vocabulary, plus whether the model
 * expects NFC input. Regexes follow llama.cpp's `llama-vocab.cpp`; `default` means GPT-2's split here.
 */
export function ggufPreTokenizer(pre: string): { steps: PreTokenizeStep[]; nfc: boolean } {
  switch (pre) {
    case "default":
    case "gpt-2":
    case "gpt2":
      return { steps: [splitStep(compilePattern(GPT2_PATTERN))], nfc: false };
    case "llama3":
    case "llama-bpe":
    case "llama-v3":
      return { steps: [splitStep(compilePattern(LLAMA3_PATTERN))], nfc: false };
    case "qwen2":
      return { steps: [splitStep(compilePattern(QWEN2_PATTERN))], nfc: true };
    case "smollm":
      // llama.cpp: every digit is its own piece, then GPT-2's regex on the rest.
      return { steps: [splitStep(/\p{N}/gu), splitStep(compilePattern(GPT2_PATTERN))], nfc: false };
    default:
      throw new UnsupportedModelError(
        `unsupported GGUF pre-tokenizer tokenizer.ggml.pre="${pre}" (supported: default, gpt-2, llama3, llama-bpe, qwen2, smollm)`,
      );
  }
}
