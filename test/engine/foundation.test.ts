import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadEngine } from "../helpers/engine.js";
import { ENGINE_WASM_URL } from "../../lib/node/engine.js";

describe("engine module in Node", () => {
  it("instantiates and calls a Rust export", async () => {
    const engine = await loadEngine();
    expect(engine.engineVersion()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(engine.simdEnabled()).toBe(true);
  });

  it("has SIMD128 instructions in its kernels (wasm-objdump disassembly)", () => {
    // wabt's wasm-objdump is installed by scripts/setup.
    const listing = execFileSync("wasm-objdump", ["-d", fileURLToPath(ENGINE_WASM_URL)], {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    const v128Lines = listing.split("\n").filter((line) => /\b(v128|[if](8x16|16x8|32x4|64x2))\./.test(line));
    expect(v128Lines.length).toBeGreaterThan(100);
  });
});
