#!/usr/bin/env -S npx tsx
// Deterministic random-weight GGUF fixtures in real model shapes, with synthetic but valid tokenizers.
//
//   npx tsx scripts/make-fixtures.mjs [--out dir] [--only name[,name...]] [--list]
//   import { makeFixture } from "./scripts/make-fixtures.mjs";  const path = await makeFixture("tiny-llama-Q8_0");
//
// It imports the library's TypeScript (lib/gguf/writer.ts, lib/node/engine.ts), so it runs under tsx or vitest,
// not plain node.
//
// Weights N(0, 0.02), norm weights 1 + N(0, 0.02), each tensor from its own PRNG seeded by (generator version,
// tensor name): every run gives byte-identical files. Output rows of special tokens are zero so greedy decoding
// never stops early. Float rows are generated in chunks, quantized by the engine (quantize binding) and streamed
// to disk, so the 135M-parameter files take seconds. Files are cached: a fixture is regenerated only when it is
// missing, its size differs, or it was made by another generator version.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, createReadStream } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GgufWriter, GGML_TYPES, LLAMA_FILE_TYPES } from "../lib/gguf/writer.ts";
import { loadEngineNode } from "../lib/node/engine.ts";
import { writeGgufFile } from "./gguf/file.mjs";

/** Bump when any output byte changes: cached files of other versions are regenerated. */
export const GENERATOR_VERSION = 1;
export const DEFAULT_FIXTURE_DIR = resolve(fileURLToPath(new URL("../test/.fixtures", import.meta.url)));

const SHAPES = {
  "tiny-llama": { arch: "llama", vocab: 512, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 192, ctx: 256, ropeTheta: 10000, eps: 1e-5, tied: false, tok: "spm" },
  "tiny-qwen2": { arch: "qwen2", vocab: 1024, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, ctx: 512, ropeTheta: 1e6, eps: 1e-6, tied: false, tok: "qwen2", qkvBias: true },
  "smollm2-135m": { arch: "llama", vocab: 49152, dim: 576, layers: 30, heads: 9, kvHeads: 3, ffn: 1536, ctx: 8192, ropeTheta: 1e5, eps: 1e-5, tied: true, tok: "smollm" },
  stories15M: { arch: "llama", vocab: 32000, dim: 288, layers: 6, heads: 6, kvHeads: 6, ffn: 768, ctx: 256, ropeTheta: 10000, eps: 1e-5, tied: false, tok: "spm" },
  stories110M: { arch: "llama", vocab: 32000, dim: 768, layers: 12, heads: 12, kvHeads: 12, ffn: 2048, ctx: 1024, ropeTheta: 10000, eps: 1e-5, tied: false, tok: "spm" },
};

/** Fixture name → shape and weight type (a super-block type means those matrices with a Q6_K output, like llama.cpp's
 *  K-quant mixes: "Q4_K" is Q4_K_M-like). */
export const FIXTURES = {
  "tiny-llama": { shape: "tiny-llama", type: "F32" },
  "tiny-llama-F16": { shape: "tiny-llama", type: "F16" },
  "tiny-llama-Q8_0": { shape: "tiny-llama", type: "Q8_0" },
  "tiny-llama-Q4_0": { shape: "tiny-llama", type: "Q4_0" },
  "tiny-qwen2": { shape: "tiny-qwen2", type: "F32" },
  "tiny-qwen2-Q8_0": { shape: "tiny-qwen2", type: "Q8_0" },
  "smollm2-135m-Q4_0": { shape: "smollm2-135m", type: "Q4_0" },
  "smollm2-135m-Q8_0": { shape: "smollm2-135m", type: "Q8_0" },
  "stories15M-Q4_0": { shape: "stories15M", type: "Q4_0" },
  "stories15M-Q8_0": { shape: "stories15M", type: "Q8_0" },
  "stories110M-Q4_0": { shape: "stories110M", type: "Q4_0" },
  "stories110M-Q8_0": { shape: "stories110M", type: "Q8_0" },
  "stories110M-Q4_K": { shape: "stories110M", type: "Q4_K" },
  "stories110M-Q2_K": { shape: "stories110M", type: "Q2_K" },
  "stories110M-Q3_K": { shape: "stories110M", type: "Q3_K" },
  "stories110M-Q5_K": { shape: "stories110M", type: "Q5_K" },
  "stories110M-IQ4_XS": { shape: "stories110M", type: "IQ4_XS" },
};

/** `general.file_type` of a fixture whose matrices are `type` (the K-quants as llama.cpp's _M mixes). */
const fileType = (type) => LLAMA_FILE_TYPES[{ Q3_K: "Q3_K_M", Q4_K: "Q4_K_M", Q5_K: "Q5_K_M" }[type] ?? type];

// ------------------------------------------------------------------------------------------------ randomness

/** FNV-1a of a string: the per-tensor seed. */
function hash32(s) {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** sfc32: small, fast, good enough for test weights. Returns uniform u32s. */
function sfc32(seed) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Uniform [0, 1) stream (vocabulary generation). */
function prng(seed) {
  const next = sfc32(seed);
  return () => next() / 4294967296;
}

/** Φ⁻¹(p), Acklam's rational approximation (relative error < 1.2e-9). */
function inverseNormalCdf(p) {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5, r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Normal quantiles at 2^16 evenly spaced probabilities: a table lookup (with linear interpolation on the low
 *  16 random bits) turns one u32 into one N(0, 1) sample ~20× faster than Box–Muller, which matters at 135M values. */
const QUANTILES = (() => {
  const t = new Float64Array(65537);
  for (let i = 0; i < 65536; i++) t[i] = inverseNormalCdf((i + 0.5) / 65536);
  t[65536] = t[65535];
  return t;
})();

/** Per-tensor N(mean, std²) generator, seeded by the tensor name. The sfc32 state is inlined in the loop and
 *  kept in int32 locals: a u32 returned from a function is a boxed double in V8 and made this 20× slower. */
function normalStream(name) {
  const state = sfc32State(hash32(`v${GENERATOR_VERSION}:${name}`));
  /** Fills out[start..end) with samples. */
  return (out, start, end, std, mean) => {
    let { a, b, c, d } = state; // locals, not closure slots, inside the hot loop
    const q = QUANTILES;
    for (let i = start; i < end; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      const k = t >>> 16;
      const lo = q[k];
      out[i] = mean + std * (lo + (q[k + 1] - lo) * ((t & 0xffff) / 65536));
    }
    Object.assign(state, { a, b, c, d });
  };
}

/** sfc32 state after seeding with `seed` and 12 warm-up steps (as `sfc32`). */
function sfc32State(seed) {
  let a = 0x9e3779b9 | 0, b = 0x243f6a88 | 0, c = 0xb7e15162 | 0, d = seed | 0;
  for (let i = 0; i < 12; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
  }
  return { a, b, c, d };
}

// ------------------------------------------------------------------------------------------------ tokenizers

function syllables(rand, n) {
  const cons = [..."bcdfghjklmnprstvwyz", "th", "ch", "sh", "st", "tr", "br", "pl", "gr"];
  const vows = [..."aeiou", "ea", "ou", "ai", "ee", "oo"];
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = 1 + Math.floor(rand() * 3);
    let w = "";
    for (let j = 0; j < k; j++) w += pick(cons) + pick(vows);
    if (rand() < 0.5) w += pick(cons);
    out.push(w);
  }
  return out;
}

/** SentencePiece-style ("llama") vocabulary: <unk> <s> </s>, 256 byte pieces, ▁, characters, then words. */
function spmVocab(n) {
  const tokens = ["<unk>", "<s>", "</s>"], types = [2, 3, 3];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`), types.push(6);
  const seen = new Set(tokens);
  const add = (t) => {
    if (!seen.has(t) && tokens.length < n) seen.add(t), tokens.push(t), types.push(1);
  };
  add("\u2581");
  for (const c of "etaoinshrdlucmfwypvbgkjqxzETAOINSHRDLUCMFWYPVBGKJQXZ0123456789.,!?'\"-:;()") add(c), add("\u2581" + c);
  const rand = prng(hash32("spm-vocab"));
  while (tokens.length < n) for (const w of syllables(rand, 1024)) add("\u2581" + w), add(w);
  const scores = tokens.map((_, i) => (i < 259 ? 0 : -(i - 259)));
  return { tokens, scores, types };
}

/** GPT-2 byte → printable character map. */
function bytesToUnicode() {
  const bs = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = [...bs];
  let k = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) bs.push(b), cs.push(256 + k++);
  const map = new Array(256);
  bs.forEach((b, i) => (map[b] = String.fromCodePoint(cs[i])));
  return map;
}

const SMOLLM_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>", "<filename>",
  "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>", "<jupyter_code>",
  "<jupyter_output>", "<jupyter_script>", "<empty_output>"];
const QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/** Byte-level BPE vocabulary: 256 byte tokens, then merged words (each merge joins two existing tokens). */
function bpeVocab(nRegular) {
  const b2u = bytesToUnicode();
  const tokens = [...b2u];
  const seen = new Set(tokens);
  const merges = [];
  const rand = prng(hash32("bpe-vocab"));
  const space = b2u[32];
  outer: while (true) {
    for (const w of syllables(rand, 1024)) {
      for (const word of [space + w, w]) {
        let cur = word[0];
        for (const ch of word.slice(1)) {
          const next = cur + ch;
          if (!seen.has(next)) {
            if (tokens.length >= nRegular) break outer;
            seen.add(next), tokens.push(next), merges.push(`${cur} ${ch}`);
          }
          cur = next;
        }
      }
    }
  }
  return { tokens, merges };
}

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Adds the tokenizer metadata; returns the ids of special tokens (their output rows are zeroed). */
function addTokenizer(g, kind, vocab) {
  if (kind === "spm") {
    const { tokens, scores, types } = spmVocab(vocab);
    g.addMetadata("tokenizer.ggml.model", "llama", "string");
    g.addMetadata("tokenizer.ggml.pre", "default", "string");
    g.addMetadata("tokenizer.ggml.tokens", tokens, "array<string>");
    g.addMetadata("tokenizer.ggml.scores", Float32Array.from(scores), "array<f32>");
    g.addMetadata("tokenizer.ggml.token_type", Int32Array.from(types), "array<i32>");
    g.addMetadata("tokenizer.ggml.bos_token_id", 1, "u32");
    g.addMetadata("tokenizer.ggml.eos_token_id", 2, "u32");
    g.addMetadata("tokenizer.ggml.unknown_token_id", 0, "u32");
    g.addMetadata("tokenizer.ggml.add_bos_token", true, "bool");
    g.addMetadata("tokenizer.ggml.add_eos_token", false, "bool");
    return [0, 1, 2];
  }
  const special = kind === "smollm" ? SMOLLM_SPECIAL : QWEN_SPECIAL;
  const { tokens: regular, merges } = bpeVocab(vocab - special.length);
  // SmolLM2 puts its special tokens first (ids 0..16); Qwen appends them after the regular vocabulary.
  const tokens = kind === "smollm" ? [...special, ...regular] : [...regular, ...special];
  const first = kind === "smollm" ? 0 : regular.length;
  const types = tokens.map((_, i) => (i >= first && i < first + special.length ? 3 : 1));
  const id = (t) => first + special.indexOf(t);
  g.addMetadata("tokenizer.ggml.model", "gpt2", "string");
  g.addMetadata("tokenizer.ggml.pre", kind === "smollm" ? "smollm" : "qwen2", "string");
  g.addMetadata("tokenizer.ggml.tokens", tokens, "array<string>");
  g.addMetadata("tokenizer.ggml.token_type", Int32Array.from(types), "array<i32>");
  g.addMetadata("tokenizer.ggml.merges", merges, "array<string>");
  if (kind === "smollm") {
    g.addMetadata("tokenizer.ggml.bos_token_id", id("<|im_start|>"), "u32");
    g.addMetadata("tokenizer.ggml.eos_token_id", id("<|im_end|>"), "u32");
    g.addMetadata("tokenizer.ggml.unknown_token_id", id("<|endoftext|>"), "u32");
    g.addMetadata("tokenizer.ggml.padding_token_id", id("<|im_end|>"), "u32");
  } else {
    g.addMetadata("tokenizer.ggml.bos_token_id", id("<|endoftext|>"), "u32");
    g.addMetadata("tokenizer.ggml.eos_token_id", id("<|im_end|>"), "u32");
    g.addMetadata("tokenizer.ggml.padding_token_id", id("<|endoftext|>"), "u32");
  }
  g.addMetadata("tokenizer.ggml.add_bos_token", false, "bool");
  g.addMetadata("tokenizer.chat_template", CHATML, "string");
  return special.map(id);
}

// ------------------------------------------------------------------------------------------------ model

const CHUNK_VALUES = 1 << 20; // floats generated and quantized per step

/** Producer of a [rows × cols] matrix in `type`, generated `CHUNK_VALUES` at a time. */
function randomMatrix(name, rows, cols, type, zeroRows = []) {
  return async function* () {
    const fill = normalStream(name);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_VALUES / cols));
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - r0);
      const x = new Float32Array(n * cols);
      fill(x, 0, x.length, 0.02, 0);
      // Zeroed after drawing, so zeroing a row never shifts the values of the others.
      for (const z of zeroRows) if (z >= r0 && z < r0 + n) x.fill(0, (z - r0) * cols, (z - r0 + 1) * cols);
      yield (await loadEngineNode()).quantize(type, x); // every type, F16 included, encoded by the engine
    }
  };
}

function randomNorm(name, n, mean = 1) {
  const x = new Float32Array(n);
  normalStream(name)(x, 0, n, 0.02, mean);
  return new Uint8Array(x.buffer);
}

/**
 * The writer for fixture `name` (tensors are produced lazily, while writing). `variant` makes defective files for
 * tests: `metadata[key]` = [value, type] replaces or adds a key (null drops it); `tensors[name]` replaces a tensor's
 * dims / type / source (the header then describes what the variant says, whatever the bytes are).
 */
export function buildFixture(name, variant = {}) {
  const fx = FIXTURES[name];
  if (!fx) throw new Error(`unknown fixture ${name}; known: ${Object.keys(FIXTURES).join(", ")}`);
  const s = SHAPES[fx.shape];
  const A = s.arch;
  const headDim = s.dim / s.heads;
  const kvDim = s.kvHeads * headDim;
  const g = variantWriter(new GgufWriter(), variant);
  g.addMetadata("general.architecture", A, "string");
  g.addMetadata("general.name", `${name}-random`, "string");
  g.addMetadata("general.file_type", fileType(fx.type), "u32");
  g.addMetadata("general.quantization_version", 2, "u32");
  g.addMetadata(`${A}.vocab_size`, s.vocab, "u32");
  g.addMetadata(`${A}.context_length`, s.ctx, "u32");
  g.addMetadata(`${A}.embedding_length`, s.dim, "u32");
  g.addMetadata(`${A}.block_count`, s.layers, "u32");
  g.addMetadata(`${A}.feed_forward_length`, s.ffn, "u32");
  g.addMetadata(`${A}.attention.head_count`, s.heads, "u32");
  g.addMetadata(`${A}.attention.head_count_kv`, s.kvHeads, "u32");
  g.addMetadata(`${A}.rope.dimension_count`, headDim, "u32");
  g.addMetadata(`${A}.rope.freq_base`, s.ropeTheta, "f32");
  g.addMetadata(`${A}.attention.layer_norm_rms_epsilon`, s.eps, "f32");
  const special = addTokenizer(g, s.tok, s.vocab);

  const wtype = fx.type;
  const mat = (t, rows, cols, type = wtype, zero = []) => {
    if (cols % GGML_TYPES[type].blockLen !== 0) throw new Error(`${name}: ${t} rows of ${cols} cannot be ${type}`);
    g.addTensor(t, [cols, rows], type, randomMatrix(t, rows, cols, type, zero));
  };
  const norm = (t, n) => g.addTensor(t, [n], "F32", randomNorm(t, n));
  const bias = (t, n) => g.addTensor(t, [n], "F32", randomNorm(t, n, 0));
  mat("token_embd.weight", s.vocab, s.dim, wtype, s.tied ? special : []);
  for (let i = 0; i < s.layers; i++) {
    const p = `blk.${i}.`;
    norm(p + "attn_norm.weight", s.dim);
    mat(p + "attn_q.weight", s.dim, s.dim);
    mat(p + "attn_k.weight", kvDim, s.dim);
    mat(p + "attn_v.weight", kvDim, s.dim);
    if (s.qkvBias) {
      bias(p + "attn_q.bias", s.dim);
      bias(p + "attn_k.bias", kvDim);
      bias(p + "attn_v.bias", kvDim);
    }
    mat(p + "attn_output.weight", s.dim, s.dim);
    norm(p + "ffn_norm.weight", s.dim);
    mat(p + "ffn_gate.weight", s.ffn, s.dim);
    mat(p + "ffn_up.weight", s.ffn, s.dim);
    mat(p + "ffn_down.weight", s.dim, s.ffn);
  }
  norm("output_norm.weight", s.dim);
  const superBlock = GGML_TYPES[wtype].blockLen === 256;
  if (!s.tied) mat("output.weight", s.vocab, s.dim, superBlock ? "Q6_K" : wtype, special);
  for (const [key, spec] of Object.entries(variant.metadata ?? {})) if (spec && !g.hasMetadata(key)) g.addMetadata(key, ...spec);
  return g;
}

/** `g` with addMetadata / addTensor applying the variant's replacements. */
function variantWriter(g, { metadata = {}, tensors = {} }) {
  const addMetadata = g.addMetadata.bind(g);
  const addTensor = g.addTensor.bind(g);
  const keys = new Set();
  g.hasMetadata = (key) => keys.has(key);
  g.addMetadata = (key, value, type) => {
    keys.add(key);
    if (!(key in metadata)) return addMetadata(key, value, type);
    return metadata[key] === null ? g : addMetadata(key, ...metadata[key]);
  };
  g.addTensor = (tname, dims, type, source) => {
    const t = tensors[tname];
    return t ? addTensor(tname, t.dims ?? dims, t.type ?? type, t.source ?? source) : addTensor(tname, dims, type, source);
  };
  return g;
}

async function sha256File(path) {
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c);
  return h.digest("hex");
}

/** Path of fixture `name` in `outDir`, generated unless an up-to-date copy is already there. */
export async function makeFixture(name, outDir = DEFAULT_FIXTURE_DIR) {
  if (!FIXTURES[name]) throw new Error(`unknown fixture ${name}; known: ${Object.keys(FIXTURES).join(", ")}`);
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `${name}.gguf`);
  const metaPath = `${path}.meta.json`;
  if (existsSync(path) && existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, "utf8"));
      if (meta.generator === GENERATOR_VERSION && meta.bytes === statSync(path).size) return path;
    } catch {
      // unreadable sidecar: regenerate
    }
  }
  const bytes = await writeGgufFile(buildFixture(name), path);
  writeFileSync(metaPath, JSON.stringify({ name, generator: GENERATOR_VERSION, bytes, sha256: await sha256File(path) }, null, 1) + "\n");
  return path;
}

async function main(argv) {
  let out = DEFAULT_FIXTURE_DIR;
  let only = Object.keys(FIXTURES);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") out = resolve(argv[++i]);
    else if (argv[i] === "--only") only = argv[++i].split(",");
    else if (argv[i] === "--list") return console.log(Object.keys(FIXTURES).join("\n"));
    else throw new Error(`unknown argument ${argv[i]} (usage: make-fixtures.mjs [--out dir] [--only name,...] [--list])`);
  }
  for (const name of only) {
    const t0 = performance.now();
    const path = await makeFixture(name, out);
    console.log(`${path}  ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`make-fixtures: ${e.message}`);
    process.exit(1);
  });
}
