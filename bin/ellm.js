#!/usr/bin/env node
// The `ellm` CLI (lib/node/cli.ts). In a clone of the repository it runs from the TypeScript sources through tsx (a dev
// dependency), so it works right after scripts/setup and is never a stale build; an installed package runs dist/.
import { existsSync } from "node:fs";

const source = new URL("../lib/node/cli.ts", import.meta.url);
const tsx = new URL("../node_modules/tsx/dist/esm/api/index.mjs", import.meta.url);
const built = new URL("../dist/lib/node/cli.js", import.meta.url);
if (existsSync(source) && existsSync(tsx)) {
  const { register } = await import(tsx.href);
  register();
  await import(source.href);
} else if (existsSync(built)) {
  await import(built.href);
} else {
  console.error("ellm: neither the sources with tsx nor dist/ are here: in a clone of the repository run scripts/setup first");
  process.exit(1);
}
