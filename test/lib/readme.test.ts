/** Every TypeScript example in README.md runs, against the real TinyStories model. */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { hasShared, sharedModel } from "../helpers/shared.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const workDir = `${root}test/.readme-examples/`;

describe.skipIf(!hasShared)("README examples", () => {
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it("has examples", () => expect(examples.length).toBeGreaterThanOrEqual(3));

  examples.forEach((source, i) => {
    it(`example ${i + 1} runs`, () => {
      const program = source
        .replaceAll('"ellm-edge/node"', JSON.stringify(`${root}lib/node/index.ts`))
        .replaceAll('"ellm-edge"', JSON.stringify(`${root}lib/index.ts`))
        .replaceAll('"stories260K.gguf"', JSON.stringify(sharedModel("stories260K.gguf")));
      mkdirSync(workDir, { recursive: true });
      const file = `${workDir}example-${i + 1}.mts`;
      writeFileSync(file, program);
      const out = execFileSync(`${root}node_modules/.bin/tsx`, [file], { encoding: "utf8", timeout: 60_000 });
      expect(out.length).toBeGreaterThan(0);
    });
  });
});
