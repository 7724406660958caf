#!/usr/bin/env node
// The compiled CLI (npm run build → dist/). See lib/node/cli.ts.
import "../dist/lib/node/cli.js";
