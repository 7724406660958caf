#!/usr/bin/env -S npx tsx
// llama2.c legacy checkpoint (+ tokenizer) → GGUF with llama.cpp's tensor names and metadata.
//
//   npx tsx scripts/convert-llama2c.mjs <model.bin> <tokenizer.bin|tokenizer.model> <out.gguf> [--type F32|F16|Q8_0|Q4_0]
//
// (tsx, not plain node: it imports the library's TypeScript, lib/gguf/writer.ts and lib/node/engine.ts.)
// Tensor order, names and metadata follow llama.cpp's convert-llama2c-to-ggml (stories260K.gguf was made by it),
// plus tokenizer.ggml.add_bos_token. Norm weights stay F32; a matrix whose rows are not a whole number of blocks
// of the requested type is written as F16 (as llama.cpp falls back), and the converter says so.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { GgufWriter, GGML_TYPES, LLAMA_FILE_TYPES } from "../lib/gguf/writer.ts";
import { loadEngineNode } from "../lib/node/engine.ts";
import { writeGgufFile } from "./gguf/file.mjs";

/** The weight types this converter writes (the engine encodes each one). */
const LLAMA_FTYPE = Object.fromEntries(["F32", "F16", "Q4_0", "Q8_0"].map((t) => [t, LLAMA_FILE_TYPES[t]]));

/** Parses the 7-int header and slices every weight array out of a llama2.c checkpoint. */
export function readLlama2cCheckpoint(buf) {
  if (buf.length < 28) throw new Error(`llama2.c checkpoint: ${buf.length} bytes is too short for the 28-byte header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const [dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen] = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true));
  const cfg = { dim, hidden, layers, heads, kvHeads, vocab: Math.abs(vocabSigned), seqLen, shared: vocabSigned > 0 };
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v === "number" && !(Number.isInteger(v) && v > 0)) throw new Error(`llama2.c checkpoint: header field ${k} = ${v} must be positive`);
  }
  if (dim % heads !== 0 || heads % kvHeads !== 0) throw new Error(`llama2.c checkpoint: dim ${dim}, heads ${heads}, kv heads ${kvHeads} are inconsistent`);
  const headSize = dim / heads;
  const kvDim = (dim * kvHeads) / heads;
  let at = 28;
  const take = (name, n) => {
    const end = at + n * 4;
    if (end > buf.length) throw new Error(`llama2.c checkpoint: ${name} needs bytes ${at}..${end}, file has ${buf.length}`);
    // Copy into an aligned Float32Array (the file offset is a multiple of 4, but the Buffer's may not be).
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(buf.subarray(at, end));
    at = end;
    return out;
  };
  const perLayer = (name, n) => {
    const all = take(name, layers * n);
    return Array.from({ length: layers }, (_, l) => all.subarray(l * n, (l + 1) * n));
  };
  const w = {};
  w.tokenEmbedding = take("token_embedding", cfg.vocab * dim);
  w.rmsAtt = perLayer("rms_att", dim);
  w.wq = perLayer("wq", dim * dim);
  w.wk = perLayer("wk", kvDim * dim);
  w.wv = perLayer("wv", kvDim * dim);
  w.wo = perLayer("wo", dim * dim);
  w.rmsFfn = perLayer("rms_ffn", dim);
  w.w1 = perLayer("w1", hidden * dim);
  w.w2 = perLayer("w2", dim * hidden);
  w.w3 = perLayer("w3", hidden * dim);
  w.rmsFinal = take("rms_final", dim);
  take("freq_cis (unused RoPE tables)", seqLen * headSize); // real and imaginary halves, seq_len*head_size/2 each
  w.wcls = cfg.shared ? w.tokenEmbedding : take("wcls", cfg.vocab * dim);
  if (at !== buf.length) throw new Error(`llama2.c checkpoint: ${buf.length - at} unexpected bytes after the weights (ends at ${at})`);
  return { cfg: { ...cfg, headSize, kvDim }, weights: w };
}

/** llama2.c tokenizer.bin: pieces as llama2.c's exporter wrote them (space for ▁, "\n<s>\n" for BOS). */
export function readLlama2cTokenizer(buf, vocabSize) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dec = new TextDecoder("utf-8", { fatal: true });
  let at = 4;
  const pieces = [], scores = [];
  for (let i = 0; i < vocabSize; i++) {
    if (at + 8 > buf.length) throw new Error(`tokenizer.bin: entry ${i} header at ${at} is past the end (${buf.length} bytes; model vocab ${vocabSize})`);
    const score = dv.getFloat32(at, true), len = dv.getInt32(at + 4, true);
    at += 8;
    if (len < 0 || at + len > buf.length) throw new Error(`tokenizer.bin: entry ${i} length ${len} at ${at - 4} runs past the end`);
    pieces.push(dec.decode(buf.subarray(at, at + len)));
    scores.push(score);
    at += len;
  }
  return pieces.map((p, id) => ({ piece: fromLlama2cPiece(p), score: scores[id] }));
}

function fromLlama2cPiece(p) {
  if (p === "\n<s>\n") return "<s>";
  if (p === "\n</s>\n") return "</s>";
  return p.replaceAll(" ", "\u2581");
}

/** SentencePiece ModelProto (protobuf): field 1 = repeated { 1: piece, 2: score (float), 3: type }. */
export function readSentencePieceModel(buf) {
  const dec = new TextDecoder("utf-8", { fatal: true });
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const varint = (s) => {
    let v = 0, mul = 1, b;
    do {
      if (s.at >= s.end) throw new Error(`tokenizer.model: varint runs past the end at ${s.at}`);
      b = buf[s.at++];
      v += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return v;
  };
  const skip = (s, wire) => {
    if (wire === 0) varint(s);
    else if (wire === 1) s.at += 8;
    else if (wire === 2) {
      const n = varint(s); // (not `s.at += varint(s)`: that adds to the position from before the varint)
      s.at += n;
    }
    else if (wire === 5) s.at += 4;
    else throw new Error(`tokenizer.model: unsupported protobuf wire type ${wire} at ${s.at}`);
  };
  const out = [];
  const top = { at: 0, end: buf.length };
  while (top.at < top.end) {
    const key = varint(top);
    if (key >>> 3 === 1 && (key & 7) === 2) {
      const len = varint(top);
      const s = { at: top.at, end: top.at + len };
      if (s.end > buf.length) throw new Error(`tokenizer.model: piece at ${top.at} runs past the end`);
      const e = { piece: "", score: 0, type: 1 };
      while (s.at < s.end) {
        const k = varint(s);
        const f = k >>> 3, wire = k & 7;
        if (f === 1 && wire === 2) {
          const n = varint(s);
          e.piece = dec.decode(buf.subarray(s.at, s.at + n));
          s.at += n;
        } else if (f === 2 && wire === 5) {
          e.score = dv.getFloat32(s.at, true);
          s.at += 4;
        } else if (f === 3 && wire === 0) e.type = varint(s);
        else skip(s, wire);
      }
      out.push(e);
      top.at = s.end;
    } else skip(top, key & 7);
  }
  if (out.length === 0) throw new Error("tokenizer.model: no pieces found (is it a SentencePiece model?)");
  return out;
}

/** GGUF token type of a piece given in llama2.c form (SentencePiece models carry their own types). */
function tokenType(piece, id) {
  if (id === 0 && piece === "<unk>") return 2;
  if (piece === "<s>" || piece === "</s>") return 3;
  if (/^<0x[0-9A-F]{2}>$/.test(piece)) return 6;
  return 1;
}

/** Builds the GGUF writer for a checkpoint + vocabulary (entries: { piece, score, type? }). */
export function buildLlama2cGguf(checkpoint, vocab, typeName = "F32", log = () => {}) {
  const { cfg, weights: w } = checkpoint;
  if (!(typeName in LLAMA_FTYPE)) throw new Error(`--type must be one of ${Object.keys(LLAMA_FTYPE).join(", ")}, got ${typeName}`);
  if (vocab.length !== cfg.vocab) throw new Error(`tokenizer has ${vocab.length} pieces, the model's vocab_size is ${cfg.vocab}`);
  const g = new GgufWriter();
  g.addMetadata("tokenizer.ggml.tokens", vocab.map((v) => v.piece), "array<string>");
  g.addMetadata("tokenizer.ggml.scores", Float32Array.from(vocab, (v) => v.score), "array<f32>");
  g.addMetadata("tokenizer.ggml.token_type", Int32Array.from(vocab, (v, i) => v.type ?? tokenType(v.piece, i)), "array<i32>");
  g.addMetadata("tokenizer.ggml.model", "llama", "string");
  g.addMetadata("general.architecture", "llama", "string");
  g.addMetadata("general.name", "llama", "string");
  g.addMetadata("general.file_type", LLAMA_FTYPE[typeName], "u32");
  g.addMetadata("tokenizer.ggml.unknown_token_id", 0, "u32");
  g.addMetadata("tokenizer.ggml.bos_token_id", 1, "u32");
  g.addMetadata("tokenizer.ggml.eos_token_id", 2, "u32");
  g.addMetadata("tokenizer.ggml.add_bos_token", true, "bool");
  g.addMetadata("tokenizer.ggml.add_eos_token", false, "bool");
  g.addMetadata("llama.context_length", cfg.seqLen, "u32");
  g.addMetadata("llama.embedding_length", cfg.dim, "u32");
  g.addMetadata("llama.feed_forward_length", cfg.hidden, "u32");
  g.addMetadata("llama.attention.head_count", cfg.heads, "u32");
  g.addMetadata("llama.attention.head_count_kv", cfg.kvHeads, "u32");
  g.addMetadata("llama.block_count", cfg.layers, "u32");
  g.addMetadata("llama.rope.dimension_count", cfg.headSize, "u32");
  g.addMetadata("llama.attention.layer_norm_rms_epsilon", 1e-5, "f32");

  const norm = (name, values) => g.addTensor(name, [values.length], "F32", new Uint8Array(values.slice().buffer));
  const matrix = (name, values, cols) => {
    const rows = values.length / cols;
    let t = typeName;
    if (cols % GGML_TYPES[t].blockLen !== 0) {
      log(`${name}: row length ${cols} is not a multiple of ${GGML_TYPES[t].blockLen}, written as F16`);
      t = "F16";
    }
    g.addTensor(name, [cols, rows], t, async () => (await loadEngineNode()).quantize(t, values));
  };
  matrix("token_embd.weight", w.tokenEmbedding, cfg.dim);
  norm("output_norm.weight", w.rmsFinal);
  matrix("output.weight", w.wcls, cfg.dim);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `blk.${l}.`;
    matrix(p + "attn_q.weight", w.wq[l], cfg.dim);
    matrix(p + "attn_k.weight", w.wk[l], cfg.dim);
    matrix(p + "attn_v.weight", w.wv[l], cfg.dim);
    matrix(p + "attn_output.weight", w.wo[l], cfg.dim);
    norm(p + "attn_norm.weight", w.rmsAtt[l]);
    matrix(p + "ffn_gate.weight", w.w1[l], cfg.dim);
    matrix(p + "ffn_down.weight", w.w2[l], cfg.hidden);
    matrix(p + "ffn_up.weight", w.w3[l], cfg.dim);
    norm(p + "ffn_norm.weight", w.rmsFfn[l]);
  }
  return g;
}

/** Reads either tokenizer format; `.model` (protobuf) is recognised by its extension. */
export function readVocabulary(path, vocabSize) {
  const buf = readFileSync(path);
  return path.endsWith(".model") ? readSentencePieceModel(buf) : readLlama2cTokenizer(buf, vocabSize);
}

export async function convertLlama2c(modelPath, tokenizerPath, outPath, typeName = "F32", log = () => {}) {
  const checkpoint = readLlama2cCheckpoint(readFileSync(modelPath));
  const vocab = readVocabulary(tokenizerPath, checkpoint.cfg.vocab);
  const bytes = await writeGgufFile(buildLlama2cGguf(checkpoint, vocab, typeName, log), outPath);
  return { bytes, cfg: checkpoint.cfg };
}

async function main(argv) {
  const args = [...argv];
  let type = "F32";
  const ti = args.indexOf("--type");
  if (ti >= 0) {
    type = args[ti + 1];
    args.splice(ti, 2);
  }
  if (args.length !== 3) {
    console.error("usage: convert-llama2c.mjs <model.bin> <tokenizer.bin|tokenizer.model> <out.gguf> [--type F32|F16|Q8_0|Q4_0]");
    process.exit(2);
  }
  const t0 = performance.now();
  const { bytes, cfg } = await convertLlama2c(args[0], args[1], args[2], type.toUpperCase(), (m) => console.error(`note: ${m}`));
  console.log(`wrote ${args[2]}: ${bytes} bytes, ${type}, dim ${cfg.dim}, ${cfg.layers} layers, vocab ${cfg.vocab} (${(performance.now() - t0).toFixed(0)} ms)`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`convert-llama2c: ${e.message}`);
    process.exit(1);
  });
}
