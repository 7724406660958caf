/**
 * Headless Chromium for the browser tests: the system's Debian `chromium` (installed by .ci/run) driven over CDP by
 * playwright-core; no browser is downloaded. `CHROMIUM_PATH` points elsewhere. Tests skip, saying why, without one.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export const chromiumPath = CANDIDATES.find((p): p is string => !!p && existsSync(p));

if (!chromiumPath) console.warn("[tests] no Chromium (apt-get install chromium, or set CHROMIUM_PATH): browser tests are skipped");

export function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error("no Chromium");
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
}

/** Where tests leave screenshots for people to look at (git-ignored). */
export const ARTIFACTS = new URL("../.artifacts/", import.meta.url);
