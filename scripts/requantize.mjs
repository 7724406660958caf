#!/usr/bin/env -S npx tsx
// Re-quantizes a real GGUF into another weight format with the project's own kernels and GGUF writer: every block-
// quantized tensor is dequantized by the engine and quantized again into the target type (F32/F16 tensors are kept),
// the metadata copied with its exact types (general.file_type updated). Used by the llama.cpp agreement test and
// `bench:compare --formats`, which load the same written file in llama.cpp and in our engine.
//
//   npx tsx scripts/requantize.mjs <in.gguf> <TYPE> [out.gguf]
//   import { requantized, REQUANT_FORMATS } from "./scripts/requantize.mjs";  await requantized(src, "Q5_0")
//
// It imports the library's TypeScript, so it runs under tsx or vitest.
import { closeSync, existsSync, mkdirSync, openSync, readSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { GgufWriter, GGML_TYPES, LLAMA_FILE_TYPES, tensorByteSize } from "../lib/gguf/writer.ts";
import { loadEngineNode } from "../lib/node/engine.ts";
import { readGgufHeader } from "../lib/node/gguf-file.ts";
import { writeGgufFile } from "./gguf/file.mjs";

/**
 * The formats the agreement test and the benchmark cover: `type` for every weight matrix, `fallback` for matrices
 * whose rows are not a whole number of `type` blocks, `ftype` the matching llama.cpp `general.file_type` (the
 * "mostly `type`" one). The fallbacks are llama.cpp's own (llama-quant.cpp's tensor_type_fallback in the bundled
 * llama.cpp: Q2_K / Q3_K → Q4_0, Q5_K → Q5_1, IQ4_XS → IQ4_NL): SmolLM2's 576-wide rows are not whole 256-value
 * super-blocks, so in the K-quant files only ffn_down (1536 wide) has the K-quant type. Append new formats here.
 */
export const REQUANT_FORMATS = [
  ...["Q4_0", "Q8_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL"].map((type) => ({ type, ftype: LLAMA_FILE_TYPES[type] })),
  { type: "Q2_K", fallback: "Q4_0", ftype: LLAMA_FILE_TYPES.Q2_K },
  { type: "Q3_K", fallback: "Q4_0", ftype: LLAMA_FILE_TYPES.Q3_K_S },
  { type: "Q5_K", fallback: "Q5_1", ftype: LLAMA_FILE_TYPES.Q5_K_S },
  { type: "IQ4_XS", fallback: "IQ4_NL", ftype: LLAMA_FILE_TYPES.IQ4_XS },
];

export const REQUANT_DIR = resolve(fileURLToPath(new URL("../test/.fixtures/requant", import.meta.url)));

const KEEP = new Set(["F32", "F16", "BF16"]);
/** Values per engine call: bounds the f32 copies a 49152 × 576 embedding would otherwise need at once. */
const CHUNK_VALUES = 1 << 20;

/** The cached re-quantization of `src` into `type` (written on first use); returns its path. */
export async function requantized(src, type, dir = REQUANT_DIR) {
  const out = join(dir, `${basename(src, ".gguf")}.${type}.gguf`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    await requantize(src, type, out);
  }
  return out;
}

/** Writes `src` re-quantized into `type` (an entry of REQUANT_FORMATS, or any type the engine quantizes) to `out`. */
export async function requantize(src, type, out) {
  const format = REQUANT_FORMATS.find((f) => f.type === type) ?? { type };
  const target = GGML_TYPES[format.type];
  if (!target) throw new Error(`unknown ggml type ${type}`);
  const engine = await loadEngineNode();
  // The engine's header: each value with its exact GGUF type, so llama.cpp (which checks key types) loads the copy.
  const layout = await readGgufHeader(src);
  const writer = new GgufWriter({ alignment: layout.alignment });
  for (const [key, value] of Object.entries(layout.metadata)) {
    if (key === "general.alignment") continue; // the writer adds it for its own alignment
    writer.addMetadata(key, key === "general.file_type" && format.ftype !== undefined ? format.ftype : value, layout.types[key]);
  }
  const fd = openSync(src, "r");
  try {
    for (const t of layout.tensors) {
      const from = t.type;
      if (!GGML_TYPES[from]) throw new Error(`${src}: tensor ${t.name} has ggml type ${from}, which the writer does not know`);
      const at = layout.dataOffset + t.offset;
      const size = tensorByteSize(t.dims, from);
      if (KEEP.has(from)) {
        writer.addTensor(t.name, t.dims, from, () => readAt(fd, at, size));
        continue;
      }
      const cols = t.dims[0];
      const to = cols % target.blockLen === 0 ? format.type : format.fallback;
      if (!to) throw new Error(`${t.name}: rows of ${cols} are not whole ${format.type} blocks and the format names no fallback`);
      writer.addTensor(t.name, t.dims, to, () => convertRows(engine, fd, at, from, to, cols, size / tensorByteSize([cols], from)));
    }
    await writeGgufFile(writer, out);
  } finally {
    closeSync(fd);
  }
}

/** The tensor's rows converted `from` → `to`, a chunk of rows at a time. */
function* convertRows(engine, fd, at, from, to, cols, rows) {
  const rowBytes = tensorByteSize([cols], from);
  const step = Math.max(1, Math.floor(CHUNK_VALUES / cols));
  for (let r = 0; r < rows; r += step) {
    const n = Math.min(step, rows - r);
    yield engine.quantize(to, engine.dequantize(from, readAt(fd, at + r * rowBytes, n * rowBytes)));
  }
}

function readAt(fd, position, length) {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return buf;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [src, type, out] = process.argv.slice(2);
  if (!src || !type) {
    console.error("usage: requantize.mjs <in.gguf> <TYPE> [out.gguf]");
    process.exit(2);
  }
  const t0 = performance.now();
  const path = out ? (await requantize(src, type, out), out) : await requantized(src, type);
  console.log(`${path} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
