/**
 * The engine's numerical kernels through the real wasm build: SIMD128 and scalar matmul paths must agree on every
 * weight format and awkward shapes, both must match a float64 reference on the dequantized weights, and the
 * quantize/dequantize bindings must round-trip with ggml's byte layout. The paths run through the engine's check
 * build (wasm/pkg-checks: the exports that pick a kernel path are not in the production engine).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadEngine } from "../helpers/engine.js";
import { loadKernelChecks, type KernelChecks } from "../helpers/kernel-checks.js";

type Engine = Awaited<ReturnType<typeof loadEngine>>;
let engine: Engine;
const { checks } = await loadKernelChecks("kernel path agreement tests");
/** The check build (only used inside suites that skip without it). */
const k = checks as KernelChecks;

beforeAll(async () => {
  engine = await loadEngine();
});

/** mulberry32: deterministic values in [-1, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

function randomVector(next: () => number, n: number, scale = 1): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = next() * scale;
  return v;
}

const FORMATS: { dtype: string; block: number; colBlocks: number[] }[] = [
  { dtype: "F32", block: 1, colBlocks: [13, 64] },
  { dtype: "F16", block: 1, colBlocks: [13, 72] },
  { dtype: "BF16", block: 1, colBlocks: [7, 40] },
  { dtype: "Q4_0", block: 32, colBlocks: [1, 5] },
  { dtype: "Q4_1", block: 32, colBlocks: [1, 18] },
  { dtype: "Q5_0", block: 32, colBlocks: [1, 18] },
  { dtype: "Q5_1", block: 32, colBlocks: [1, 18] },
  { dtype: "Q8_0", block: 32, colBlocks: [1, 5] },
  { dtype: "IQ4_NL", block: 32, colBlocks: [1, 18] },
  { dtype: "Q2_K", block: 256, colBlocks: [1, 3] },
  { dtype: "Q3_K", block: 256, colBlocks: [1, 3] },
  { dtype: "Q4_K", block: 256, colBlocks: [1, 3] },
  { dtype: "Q5_K", block: 256, colBlocks: [1, 3] },
  { dtype: "Q6_K", block: 256, colBlocks: [1, 3] },
  { dtype: "IQ4_XS", block: 256, colBlocks: [1, 3] },
];

describe("kernels: the production build", () => {
  it("has SIMD128 kernels", () => {
    expect(engine.simdEnabled()).toBe(true);
  });

  it("leaves the kernel check/bench exports to the check build", () => {
    for (const name of ["matmulCheck", "matmulBench", "vecCheck", "quantizeQ8_0Check", "repackCheck"]) expect(engine).not.toHaveProperty(name);
  });
});

describe.skipIf(!checks)("kernels: matmul SIMD vs scalar vs float64 reference", () => {
  it("the check build has SIMD128 kernels", () => {
    expect(k.simdEnabled()).toBe(true);
  });

  for (const { dtype, block, colBlocks } of FORMATS) {
    it(`${dtype}: rows 1,3,5,7,8,13 × tokens 1,2,5,9 × ${colBlocks.length} column counts, both weight layouts`, () => {
      const next = rng(0x5eed + block + dtype.length * 17);
      let checked = 0;
      for (const nb of colBlocks) {
        const cols = nb * block;
        for (const rows of [1, 3, 5, 7, 8, 13]) {
          const weights = k.quantize(dtype, randomVector(next, rows * cols));
          const wd = k.dequantize(dtype, weights);
          expect(wd.length).toBe(rows * cols);
          for (const nTokens of [1, 2, 5, 9]) {
            const x = randomVector(next, nTokens * cols, 3);
            const scalar = k.matmulCheck("scalar", dtype, rows, cols, weights, x, nTokens);
            const simd = k.matmulCheck("simd", dtype, rows, cols, weights, x, nTokens);
            expect(simd.length).toBe(rows * nTokens);
            if (block > 1) {
              // Repacked as the loader does (4-row groups interleaved): the same arithmetic, bit for bit.
              const packed = k.repackCheck(dtype, rows, weights);
              expect(k.matmulCheck("simd", dtype, rows, cols, packed, x, nTokens, 1, true)).toEqual(simd);
              expect(k.matmulCheck("scalar", dtype, rows, cols, packed, x, nTokens, 1, true)).toEqual(scalar);
            }
            for (let t = 0; t < nTokens; t++) {
              for (let r = 0; r < rows; r++) {
                let exact = 0;
                let magnitude = 0;
                for (let c = 0; c < cols; c++) {
                  const p = wd[r * cols + c]! * x[t * cols + c]!;
                  exact += p;
                  magnitude += Math.abs(p);
                }
                const i = t * rows + r;
                const where = `${dtype} ${rows}x${cols} nTokens=${nTokens} t=${t} r=${r}`;
                // Same integer sums, different float summation order only.
                expect(Math.abs(simd[i]! - scalar[i]!), where).toBeLessThanOrEqual(1e-5 * magnitude + 1e-6);
                // Activation quantization (8-bit) is all that separates the kernels from the float64 reference.
                const tol = block === 1 ? 1e-5 * magnitude + 1e-6 : 0.01 * magnitude + 1e-4;
                expect(Math.abs(simd[i]! - exact), where).toBeLessThanOrEqual(tol);
                checked++;
              }
            }
          }
        }
      }
      expect(checked).toBe(colBlocks.length * (1 + 3 + 5 + 7 + 8 + 13) * (1 + 2 + 5 + 9));
    });
  }

  // From 8 tokens on, repacked matrices are swept in runs of 8-row tiles whose f32 row scales are converted once
  // (64 KiB of them: 84 groups of 48 blocks, 42 of Q4_1's 48 scale-and-minimum blocks); the rest of the rows and of
  // the tokens (past whole blocks of 4) without. Several runs, a tail of rows and of tokens: the same bits as the
  // row-major sweep, which converts the scales at every block.
  for (const dtype of ["Q4_0", "Q4_1", "Q8_0"]) {
    it(`${dtype}: 347 rows × 1536 cols × 11 tokens, repacked (runs of converted scales) = row-major, bit for bit`, () => {
      const next = rng(0xca1e + dtype.length);
      const [rows, cols, nTokens] = [347, 1536, 11];
      const weights = k.quantize(dtype, randomVector(next, rows * cols));
      const x = randomVector(next, nTokens * cols, 3);
      const rowMajor = k.matmulCheck("simd", dtype, rows, cols, weights, x, nTokens);
      const packed = k.matmulCheck("simd", dtype, rows, cols, k.repackCheck(dtype, rows, weights), x, nTokens, 1, true);
      expect(packed).toEqual(rowMajor);
      const scalar = k.matmulCheck("scalar", dtype, rows, cols, weights, x, nTokens);
      const worst = Math.max(...packed.map((v, i) => Math.abs(v - scalar[i]!) / (Math.abs(scalar[i]!) + 1)));
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it("rejects inconsistent shapes and unknown names with clear errors", () => {
    const w = k.quantize("Q4_0", new Float32Array(64));
    expect(() => k.matmulCheck("simd", "Q4_0", 3, 32, w, new Float32Array(32), 1)).toThrow(/weights: 36 bytes, 3×32 Q4_0 needs 54/);
    expect(() => k.matmulCheck("simd", "Q4_0", 2, 32, w, new Float32Array(31), 1)).toThrow(/x: 31 values/);
    expect(() => k.matmulCheck("fast", "Q4_0", 2, 32, w, new Float32Array(32), 1)).toThrow(/unknown kernel path/);
    expect(() => k.matmulCheck("simd", "Q8_1", 1, 32, new Uint8Array(36), new Float32Array(32), 1)).toThrow(/no kernels for Q8_1/);
    expect(() => k.matmulCheck("simd", "Q4_K", 1, 32, new Uint8Array(0), new Float32Array(32), 1)).toThrow(/not a multiple/);
  });
});

/**
 * Byte layouts of the 32-value block formats (ggml's): block size and where the f16 scale d and minimum m sit; every
 * other byte is quants, and any byte pattern there is a valid block.
 */
const Q8_PARTNERED: { dtype: string; bytes: number; d: number; m?: number }[] = [
  { dtype: "Q4_0", bytes: 18, d: 0 },
  { dtype: "Q4_1", bytes: 20, d: 0, m: 2 },
  { dtype: "Q5_0", bytes: 22, d: 0 },
  { dtype: "Q5_1", bytes: 24, d: 0, m: 2 },
  { dtype: "Q8_0", bytes: 34, d: 0 },
  { dtype: "IQ4_NL", bytes: 18, d: 0 },
];

/** Writes `v` (a normal f16 value with at most 11 significant bits, or 0) as little-endian f16 bits at `at`. */
function setF16(bytes: Uint8Array, at: number, v: number): void {
  let h = 0;
  if (v !== 0) {
    const e = Math.floor(Math.log2(Math.abs(v)));
    h = (v < 0 ? 0x8000 : 0) | ((e + 15) << 10) | ((Math.abs(v) / 2 ** e - 1) * 1024);
  }
  bytes[at] = h & 0xff;
  bytes[at + 1] = h >> 8;
}

describe.skipIf(!checks)("kernels: 32-value block formats give exact integer sums on both paths", () => {
  // With d = 2^-4, m = j · 2^-4 and activations q / 16 (so the Q8_0 activation scale is exactly 1/16), every product
  // and partial sum is exact in f32: SIMD, scalar and a float64 reference must agree to the bit, whatever the
  // summation order. An off-by-one anywhere in the integer sums (a wrong nibble, fifth bit, offset or minimum) shows.
  for (const { dtype, bytes, d, m } of Q8_PARTNERED) {
    it(`${dtype}: random blocks, rows 1,3,4,5,7,13 × cols 32,160,576 × tokens 1,2,3,8,9,17`, () => {
      const next = rng(0xe0 + bytes);
      for (const cols of [32, 160, 576]) {
        for (const rows of [1, 3, 4, 5, 7, 13]) {
          const w = new Uint8Array(rows * (cols / 32) * bytes);
          for (let i = 0; i < w.length; i++) w[i] = Math.floor((next() + 1) * 128);
          for (let b = 0; b < w.length; b += bytes) {
            setF16(w, b + d, 2 ** -4);
            if (m !== undefined) setF16(w, b + m, Math.round(next() * 16) * 2 ** -4);
          }
          const wd = k.dequantize(dtype, w);
          for (const nTokens of [1, 2, 3, 8, 9, 17]) {
            const x = new Float32Array(nTokens * cols);
            for (let i = 0; i < x.length; i++) x[i] = Math.round(next() * 127) / 16;
            for (let b = 0; b < x.length; b += 32) x[b + Math.floor((next() + 1) * 16)] = next() < 0 ? -127 / 16 : 127 / 16;
            const scalar = k.matmulCheck("scalar", dtype, rows, cols, w, x, nTokens);
            const simd = k.matmulCheck("simd", dtype, rows, cols, w, x, nTokens);
            expect(k.matmulCheck("simd", dtype, rows, cols, k.repackCheck(dtype, rows, w), x, nTokens, 1, true)).toEqual(simd);
            for (let t = 0; t < nTokens; t++) {
              for (let r = 0; r < rows; r++) {
                let exact = 0;
                for (let c = 0; c < cols; c++) exact += wd[r * cols + c]! * x[t * cols + c]!;
                const where = `${dtype} ${rows}x${cols} nTokens=${nTokens} t=${t} r=${r}`;
                expect(scalar[t * rows + r], where).toBe(exact);
                expect(simd[t * rows + r], where).toBe(exact);
              }
            }
          }
        }
      }
    });
  }
});

/**
 * Byte layouts of the 256-value super-block formats (ggml's): block size and where the f16 super-block scale d and
 * minimum scale dmin sit; every other byte is quants and sub-block scales, and any byte pattern there is valid.
 */
const Q8K_PARTNERED: { dtype: string; bytes: number; d: number; dmin?: number }[] = [
  { dtype: "Q2_K", bytes: 84, d: 80, dmin: 82 },
  { dtype: "Q3_K", bytes: 110, d: 108 },
  { dtype: "Q4_K", bytes: 144, d: 0, dmin: 2 },
  { dtype: "Q5_K", bytes: 176, d: 0, dmin: 2 },
  { dtype: "Q6_K", bytes: 210, d: 208 },
  { dtype: "IQ4_XS", bytes: 136, d: 0 },
];

describe.skipIf(!checks)("kernels: super-block formats give exact integer sums on both paths", () => {
  // d = dmin = 2^-4 and activations q / 16 with a ±127/16 in every 256 (so the Q8_K scale is exactly 1/16): the
  // integer sums stay far below 2^24 on these random blocks, so every path and a float64 reference agree to the bit.
  // A wrong bit position of a quant, scale or minimum anywhere in the block shows as a mismatch.
  for (const { dtype, bytes, d, dmin } of Q8K_PARTNERED) {
    it(`${dtype}: random blocks, rows 1,3,4,5,7,13 × cols 256,768 × tokens 1,2,3,8,9,17`, () => {
      const next = rng(0xf0 + bytes);
      for (const cols of [256, 768]) {
        for (const rows of [1, 3, 4, 5, 7, 13]) {
          const w = new Uint8Array(rows * (cols / 256) * bytes);
          for (let i = 0; i < w.length; i++) w[i] = Math.floor((next() + 1) * 128);
          for (let b = 0; b < w.length; b += bytes) {
            setF16(w, b + d, 2 ** -4);
            if (dmin !== undefined) setF16(w, b + dmin, 2 ** -4);
          }
          const wd = k.dequantize(dtype, w);
          for (const nTokens of [1, 2, 3, 8, 9, 17]) {
            const x = new Float32Array(nTokens * cols);
            for (let i = 0; i < x.length; i++) x[i] = Math.round(next() * 127) / 16;
            for (let b = 0; b < x.length; b += 256) x[b + Math.floor((next() + 1) * 128)] = next() < 0 ? -127 / 16 : 127 / 16;
            const scalar = k.matmulCheck("scalar", dtype, rows, cols, w, x, nTokens);
            const simd = k.matmulCheck("simd", dtype, rows, cols, w, x, nTokens);
            expect(k.matmulCheck("simd", dtype, rows, cols, k.repackCheck(dtype, rows, w), x, nTokens, 1, true)).toEqual(simd);
            for (let t = 0; t < nTokens; t++) {
              for (let r = 0; r < rows; r++) {
                let exact = 0;
                for (let c = 0; c < cols; c++) exact += wd[r * cols + c]! * x[t * cols + c]!;
                const where = `${dtype} ${rows}x${cols} nTokens=${nTokens} t=${t} r=${r}`;
                expect(scalar[t * rows + r], where).toBe(exact);
                expect(simd[t * rows + r], where).toBe(exact);
              }
            }
          }
        }
      }
    });
  }
});

describe("kernels: quantize / dequantize bindings", () => {
  const cases: { dtype: string; n: number; bytes: number; maxErr: (amax: number) => number }[] = [
    { dtype: "F32", n: 96, bytes: 384, maxErr: () => 0 },
    { dtype: "F16", n: 96, bytes: 192, maxErr: (a) => a * 2 ** -11 },
    { dtype: "BF16", n: 96, bytes: 192, maxErr: (a) => a * 2 ** -8 },
    { dtype: "Q8_0", n: 96, bytes: 3 * 34, maxErr: (a) => a / 127 },
    { dtype: "Q4_0", n: 96, bytes: 3 * 18, maxErr: (a) => a / 7 },
    { dtype: "Q4_1", n: 96, bytes: 3 * 20, maxErr: (a) => a / 15 },
    { dtype: "Q5_0", n: 96, bytes: 3 * 22, maxErr: (a) => a / 15 },
    { dtype: "Q5_1", n: 96, bytes: 3 * 24, maxErr: (a) => a / 31 },
    { dtype: "IQ4_NL", n: 96, bytes: 3 * 18, maxErr: (a) => a / 8 },
    { dtype: "Q8_K", n: 512, bytes: 2 * 292, maxErr: (a) => a / 127 },
    { dtype: "Q6_K", n: 512, bytes: 2 * 210, maxErr: (a) => a / 20 },
    { dtype: "Q4_K", n: 512, bytes: 2 * 144, maxErr: (a) => a / 5 },
    { dtype: "Q5_K", n: 512, bytes: 2 * 176, maxErr: (a) => a / 10 },
    { dtype: "Q3_K", n: 512, bytes: 2 * 110, maxErr: (a) => a / 3 },
    { dtype: "Q2_K", n: 512, bytes: 2 * 84, maxErr: (a) => a / 1.5 },
    { dtype: "IQ4_XS", n: 512, bytes: 2 * 136, maxErr: (a) => a / 5 },
  ];
  for (const { dtype, n, bytes, maxErr } of cases) {
    it(`${dtype} round-trips ${n} values through ${bytes} bytes`, () => {
      const src = randomVector(rng(n + bytes), n, 2);
      const q = engine.quantize(dtype, src);
      expect(q.length).toBe(bytes);
      const back = engine.dequantize(dtype, q);
      expect(back.length).toBe(n);
      const amax = src.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(back[i]! - src[i]!));
      expect(worst).toBeLessThanOrEqual(maxErr(amax) + 1e-7);
    });
  }

  it("decodes a hand-built Q4_0 block with ggml's nibble order", () => {
    const block = new Uint8Array(18);
    block[0] = 0x00;
    block[1] = 0x40; // d = 2.0 as f16, little-endian
    for (let j = 0; j < 16; j++) block[2 + j] = j | ((15 - j) << 4);
    const v = engine.dequantize("Q4_0", block);
    for (let j = 0; j < 16; j++) {
      expect(v[j]).toBe(2 * (j - 8));
      expect(v[j + 16]).toBe(2 * (7 - j));
    }
  });

  it("reports bad lengths and unknown types", () => {
    expect(() => engine.quantize("Q4_0", new Float32Array(33))).toThrow("input has 33 values, not a multiple of 32 (Q4_0 block size)");
    expect(() => engine.dequantize("Q6_K", new Uint8Array(211))).toThrow(/211 bytes, not a multiple of 210/);
    expect(() => engine.quantize("Q9_9", new Float32Array(32))).toThrow(/unknown dtype/);
    expect(() => engine.quantize("Q8_1", new Float32Array(32))).toThrow(/not supported for Q8_1/);
  });
});

describe.skipIf(!checks)("kernels: attention vector primitives, SIMD vs scalar", () => {
  const lengths = [1, 7, 8, 9, 33, 64, 130];
  for (const op of ["dot_f32", "dot_f16", "axpy_f32", "axpy_f16"]) {
    it(op, () => {
      const next = rng(op.length * 101);
      for (const n of lengths) {
        const a = randomVector(next, n, 4);
        const b = randomVector(next, n, 4);
        const scalar = k.vecCheck(op, "scalar", a, b, 0.75);
        const simd = k.vecCheck(op, "simd", a, b, 0.75);
        expect(simd.length).toBe(scalar.length);
        let magnitude = 0;
        for (let i = 0; i < n; i++) magnitude += Math.abs(a[i]! * b[i]!);
        for (let i = 0; i < scalar.length; i++) {
          const tol = op.startsWith("dot") ? 1e-6 * magnitude + 1e-6 : 1e-6 * Math.abs(scalar[i]!) + 1e-6;
          expect(Math.abs(simd[i]! - scalar[i]!), `${op} n=${n} i=${i}`).toBeLessThanOrEqual(tol);
        }
      }
    });
  }

  it("grouped f16 attention (1–4 query heads per pass over shared keys/values) equals head by head, bit for bit", () => {
    const next = rng(4242);
    for (const [heads, dim, rows] of [[3, 64, 37], [4, 64, 5], [1, 64, 2], [2, 20, 9]] as const) {
      const q = randomVector(next, heads * dim, 2);
      const kv = randomVector(next, rows * dim, 2);
      const byPath: Float32Array[] = [];
      for (const path of ["scalar", "simd"]) {
        const out = k.vecCheck("group_f16", path, q, kv, dim);
        const half = out.length / 2;
        expect(half).toBe(heads * rows + heads * dim);
        expect(Array.from(out.subarray(0, half)), `${path} ${heads}×${dim}`).toEqual(Array.from(out.subarray(half)));
        byPath.push(out.subarray(0, half));
      }
      for (let i = 0; i < byPath[0]!.length; i++) {
        expect(Math.abs(byPath[1]![i]! - byPath[0]![i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(byPath[0]![i]!)));
      }
    }
  });

  it("prompt attention in query × key blocks equals token by token, bit for bit, on both paths (f16 and q8_0 caches)", () => {
    const next = rng(5151);
    // [query heads, KV heads, head size, cached positions before the chunk, chunk tokens]: GQA groups of 3, 7, 1, 20.
    const shapes = [[9, 3, 64, 0, 21], [14, 2, 64, 40, 9], [4, 4, 32, 3, 35], [40, 2, 32, 7, 3], [4, 1, 128, 29, 6]] as const;
    for (const kvType of ["f16", "q8_0"]) {
      for (const [nHeads, nKv, dim, pos0, n] of shapes) {
        const q = randomVector(next, n * nHeads * dim, 2);
        const keys = randomVector(next, (pos0 + n) * nKv * dim, 2);
        const values = randomVector(next, (pos0 + n) * nKv * dim, 2);
        const byPath: Float32Array[] = [];
        for (const path of ["scalar", "simd"]) {
          const out = k.attentionCheck(path, kvType, nHeads, nKv, dim, q, keys, values);
          const half = out.length / 2;
          expect(half).toBe(n * nHeads * dim);
          const what = `${path} ${kvType} ${nHeads}/${nKv}×${dim} at ${pos0}+${n}`;
          expect(Array.from(out.subarray(0, half)), what).toEqual(Array.from(out.subarray(half)));
          byPath.push(out.subarray(0, half));
        }
        for (let i = 0; i < byPath[0]!.length; i++) {
          expect(Math.abs(byPath[1]![i]! - byPath[0]![i]!), `${kvType} ${nHeads}/${nKv}×${dim} SIMD vs scalar at ${i}`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(byPath[0]![i]!)));
        }
      }
    }
  });

  it("round_f16 gives the scalar path's bits on the SIMD path", () => {
    const next = rng(91);
    for (const n of [1, 3, 4, 7, 64, 257]) {
      const a = Float32Array.from({ length: n }, (_, i) => (i % 9 === 4 ? 70000 : (next() * 2 - 1) * 30 * 10 ** -Math.round(next() * 6)));
      expect(Array.from(k.vecCheck("round_f16", "simd", a, a, 0)), `n=${n}`).toEqual(Array.from(k.vecCheck("round_f16", "scalar", a, a, 0)));
    }
  });

  it("round_weights_f16 (softmax weights in [0, 1]) gives round_f16's bits on both paths, ties and f16 subnormals included", () => {
    const next = rng(92);
    const bits = new Uint32Array(4099);
    const f = new Float32Array(bits.buffer);
    for (let i = 0; i < bits.length; i++) {
      // Random weights over every exponent down to 2^-30, some exactly on an f16 tie (13 low bits 0x1000), the edges.
      f[i] = Math.abs(next()) * 2 ** -Math.floor(Math.abs(next()) * 30);
      if (i % 5 === 0) bits[i] = (bits[i]! & ~0x1fff) | 0x1000;
    }
    f.set([0, 1, 2 ** -14, 2 ** -14 - 2 ** -24, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 0.5, 1 - 2 ** -24]);
    const want = Array.from(k.vecCheck("round_f16", "scalar", f, f, 0));
    expect(Array.from(k.vecCheck("round_weights_f16", "scalar", f, f, 0))).toEqual(want);
    expect(Array.from(k.vecCheck("round_weights_f16", "simd", f, f, 0))).toEqual(want);
  });

  it("exp and silu_mul (softmax's and SwiGLU's e^x) are bit-identical on both paths: libm's expf, four lanes at a time", () => {
    // Every 997th f32 bit pattern (both signs, all exponents), then the vector code's branch points ± 1 ulp, in
    // every position of a group of four (a special lane sends its whole group to the scalar expf).
    const bits = new Uint32Array(Math.floor(2 ** 32 / 997));
    for (let i = 0; i < bits.length; i++) bits[i] = (i * 997) >>> 0;
    const edges = [0x42aeac50, 0x42b17218, 0x42cff1b5, 0x3f851592, 0x3eb17218, 0x39000000, 0x7f800000, 0x7fc00000, 0, 1];
    const around = edges.flatMap((b) => [b - 1, b, b + 1]).flatMap((b) => [b >>> 0, (b | 0x80000000) >>> 0]);
    const edgeBits = new Uint32Array(around.length * 4);
    around.forEach((b, i) => edgeBits.set([b, 0x3f800000, b, 0xbf000000].map((v, j) => (j === i % 4 ? b : v)), 4 * i));
    for (const input of [bits, edgeBits]) {
      const x = new Float32Array(input.buffer);
      for (const op of ["exp", "silu_mul"]) {
        const scalar = new Uint32Array(k.vecCheck(op, "scalar", x, x, 0).buffer);
        const simd = new Uint32Array(k.vecCheck(op, "simd", x, x, 0).buffer);
        let differ = 0;
        for (let i = 0; i < x.length; i++) if (simd[i] !== scalar[i]) differ++;
        expect(differ, `${op} over ${x.length} inputs`).toBe(0);
      }
    }
    expect(k.vecCheck("exp", "simd", Float32Array.of(0, 1, -1, 2), new Float32Array(4), 0)[1]).toBeCloseTo(Math.E, 6);
  });

  it("to_f16 is bit-identical on both paths, including ties, subnormals, overflow, inf and NaN", () => {
    const special = [
      0, -0, 1, -1, 0.1, 65504, 65519.99, 65520, 1e9, -1e9, Infinity, -Infinity, NaN, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25,
      2 ** -14, 2 ** -14 - 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 3e-5, -6.1e-5, 1e-10, 1234.5678,
    ];
    const next = rng(77);
    const values = Float32Array.from([...special, ...Array.from({ length: 200 }, () => next() * 10 ** Math.round(next() * 6))]);
    const scalar = k.vecCheck("to_f16", "scalar", values, new Float32Array(0), 0);
    const simd = k.vecCheck("to_f16", "simd", values, new Float32Array(0), 0);
    expect(Array.from(simd)).toEqual(Array.from(scalar));
    // Spot-check known encodings.
    expect(scalar[2]).toBe(0x3c00); // 1.0
    expect(scalar[5]).toBe(0x7bff); // 65504, largest finite
    expect(scalar[6]).toBe(0x7bff); // just below the tie with 65536
    expect(scalar[7]).toBe(0x7c00); // 65520 rounds to inf
    expect(scalar[13]).toBe(0x0001); // 2^-24, smallest subnormal
    expect(scalar[14]).toBe(0x0000); // 2^-25: tie → even (zero)
    expect(scalar[18]).toBe(0x3c00); // 1 + 2^-11: tie → even
    expect(scalar[19]).toBe(0x3c02); // 1 + 3·2^-11: tie → even
  });
});

describe.skipIf(!checks)("kernels: activation quantization (Q8_0) on the SIMD path", () => {
  it("gives exactly the scalar path's bytes, including ties, NaN, ±inf, zeros and subnormals", () => {
    const next = rng(0xacc);
    const cases: Float32Array[] = [];
    // Random blocks with values at exact .5 steps of the scale (ties round to even).
    for (let b = 0; b < 40; b++) {
      const v = randomVector(next, 32, 10 ** Math.floor(next() * 6 - 3));
      if (b % 4 === 0) {
        v[0] = 127; // d = 1, so k + 0.5 are ties
        for (let i = 1; i < 32; i++) v[i] = Math.round(next() * 100) + 0.5 * Math.sign(next());
      }
      cases.push(v);
    }
    cases.push(new Float32Array(32)); // all zero: d = 0
    const odd = randomVector(next, 32);
    odd[3] = NaN;
    odd[9] = -0;
    cases.push(odd);
    const inf = randomVector(next, 32);
    inf[5] = -Infinity;
    cases.push(inf);
    cases.push(Float32Array.from({ length: 32 }, (_, i) => (i - 16) * 1e-40)); // subnormals
    const all = new Float32Array(cases.length * 32);
    cases.forEach((c, i) => all.set(c, i * 32));
    const scalar = k.quantizeQ8_0Check("scalar", all);
    const simd = k.quantizeQ8_0Check("simd", all);
    // llama.cpp's x86 activation rounding: the weights' d = f16(max|x| / 127), quants round(x · 127 / max|x|) with
    // halves to even (the weight quantizer multiplies by 1 / d and rounds halves away from zero).
    const weights = k.quantize("Q8_0", all);
    for (let b = 0; b < cases.length; b++) {
      const x = all.subarray(b * 32, b * 32 + 32);
      const amax = x.reduce((m, v) => (Math.abs(v) > m ? Math.abs(v) : m), 0);
      const id = amax !== 0 ? Math.fround(127 / amax) : 0;
      const want = Array.from(x, (v) => {
        const y = Math.fround(v * id);
        const r = Math.abs(y % 1) === 0.5 ? 2 * Math.round(y / 2) : Math.round(y);
        return Number.isNaN(r) ? 0 : (Math.max(-127, Math.min(127, r)) + 256) % 256;
      });
      expect(Array.from(scalar.subarray(b * 34, b * 34 + 2)), `block ${b} d`).toEqual(Array.from(weights.subarray(b * 34, b * 34 + 2)));
      expect(Array.from(scalar.subarray(b * 34 + 2, b * 34 + 34)), `block ${b}`).toEqual(want);
    }
    for (let b = 0; b < cases.length; b++) {
      expect(Array.from(simd.subarray(b * 34, b * 34 + 34)), `block ${b}`).toEqual(Array.from(scalar.subarray(b * 34, b * 34 + 34)));
    }
    expect(() => k.quantizeQ8_0Check("simd", new Float32Array(31))).toThrow(/31 is not a multiple of 32/);
  });
});
