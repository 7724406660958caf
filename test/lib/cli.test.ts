import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Llama } from "../../lib/node/index.js";
import { hasShared, sharedModel } from "../helpers/shared.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;
const cli = `${root}lib/node/cli.ts`;

describe.skipIf(!hasShared)("ellm CLI", () => {
  it("run: streams the greedy continuation to stdout and a load progress bar to stderr", async () => {
    const model = sharedModel("stories260K.gguf");
    const r = spawnSync(tsx, [cli, "run", model, "Once upon a time", "--max-tokens", "16", "--temperature", "0", "--context", "256"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const llama = await Llama.load({ model, contextLength: 256 });
    const expected = await llama.generate("Once upon a time", { maxTokens: 16, temperature: 0 });
    expect(r.stdout).toBe(`Once upon a time${expected.text}\n`);
    expect(r.stderr).toMatch(/loading \[#+\] 100%/);
    expect(r.stderr).toMatch(/16 tokens/);
  });

  it("chat: answers each line typed at the prompt", () => {
    const r = spawnSync(tsx, [cli, "chat", sharedModel("stories260K.gguf"), "--max-tokens", "8", "--temperature", "0"], {
      encoding: "utf8",
      input: "Hello\n/exit\n",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/8 tokens/);
  });

  it("usage errors exit 2 and name the commands", () => {
    const r = spawnSync(tsx, [cli, "serve"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ellm run <model.gguf>/);
  });
});
