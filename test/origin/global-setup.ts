/**
 * Global setup of the `origin` vitest project (runs in Node, outside workerd): starts the fault-injecting origin and a
 * real OpenAI-compatible upstream, and hands their addresses to the tests through `provide`. The upstream is
 * llama.cpp's server (scripts/origin/start-llama-server, which installs llama-cpp-python on first use) where it is
 * installed or asked for, else `ellm serve` (our own server in Node, present on every machine);
 * ELLM_ORIGIN_URL=<url> uses an already running origin instead.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { awaitLine, spawnEllmServe, stopChild } from "../../scripts/ellm-serve-child.js";
import { makeFixture } from "../../scripts/make-fixtures.mjs";
import { closedPort, setRelayTarget, startFaultServer } from "./fault-server.js";
import { upstreamContext } from "./upstream-context.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the fault server; scenarios are path prefixes. */
    faultUrl: string;
    /** http://127.0.0.1:<port> with nothing listening (connection refused). */
    refusedUrl: string;
    /** Base URL of the real OpenAI-compatible upstream (also the fault server's relay target). */
    upstreamUrl: string;
    /** The model name the upstream serves (the catalog's origin.model). */
    upstreamModel: string;
    /** Which server the upstream is, for suite names and its known gaps. */
    upstreamKind: "llama.cpp" | "ellm" | "external";
  }
}

const UPSTREAM_MODEL = "stories-upstream";
const SHARED_STORIES = "../shared/models/stories260K.gguf";
/** First use compiles llama.cpp (pip); later starts take a second. */
const LLAMA_START_TIMEOUT_MS = 40 * 60_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fault = await startFaultServer();
  project.provide("faultUrl", `http://127.0.0.1:${fault.port}`);
  project.provide("refusedUrl", `http://127.0.0.1:${await closedPort()}`);
  project.provide("upstreamModel", UPSTREAM_MODEL);

  let child: ChildProcess | undefined;
  // Read through globalThis: the workers pool's Vite config rewrites the `process.env` expression in loaded modules.
  const external = (Reflect.get(globalThis, "process") as NodeJS.Process).env.ELLM_ORIGIN_URL;
  if (external) {
    project.provide("upstreamUrl", external.replace(/\/+$/, ""));
    project.provide("upstreamKind", "external");
  } else if (llamaWanted()) {
    const started = await startLlama();
    child = started.child;
    project.provide("upstreamUrl", started.url);
    project.provide("upstreamKind", "llama.cpp");
  } else {
    console.warn("origin tests: upstream is `ellm serve` (ELLM_ORIGIN_LLAMA=1 installs and starts llama.cpp's server instead)");
    const started = await startEllmServe();
    child = started.child;
    project.provide("upstreamUrl", started.url);
    project.provide("upstreamKind", "ellm");
  }
  setRelayTarget(project.getProvidedContext().upstreamUrl);

  return async () => {
    await new Promise<void>((done) => fault.server.close(() => done()));
    fault.server.closeAllConnections();
    await stopChild(child);
  };
}

/**
 * A real OpenAI-compatible upstream on every machine: `ellm serve` (bin/ellm.js, the Worker's app in Node) serving
 * the project's model on a free port with the catalog's context, so the origin suites run where llama.cpp is absent.
 */
async function startEllmServe(): Promise<{ child: ChildProcess; url: string }> {
  const source = existsSync(resolve(SHARED_STORIES)) ? resolve(SHARED_STORIES) : await makeFixture("tiny-llama", resolve("test/.fixtures"));
  // ellm serve names a model after its file: a link gives it the upstream's name.
  const dir = resolve("test/.fixtures/upstream");
  const model = resolve(dir, `${UPSTREAM_MODEL}.gguf`);
  mkdirSync(dir, { recursive: true });
  rmSync(model, { force: true });
  symlinkSync(source, model);
  return spawnEllmServe(model, upstreamContext());
}

/**
 * llama.cpp runs when asked (ELLM_ORIGIN_LLAMA=1) or when its venv is already installed. The first install compiles
 * llama.cpp (tens of minutes on 2 cores), too long for every CI run: on a fresh machine it is opt-in.
 */
function llamaWanted(): boolean {
  const env = (Reflect.get(globalThis, "process") as NodeJS.Process).env;
  if (env.ELLM_ORIGIN_LLAMA === "0" || !existsSync(resolve(SHARED_STORIES))) return false; // the model it serves
  if (env.ELLM_ORIGIN_LLAMA === "1") return true;
  const venv = env.ELLM_ORIGIN_VENV ?? resolve(".venv-origin");
  return spawnSync(resolve(venv, "bin/python"), ["-c", "import llama_cpp.server, uvicorn"], { stdio: "ignore" }).status === 0;
}

function startLlama(): Promise<{ child: ChildProcess; url: string }> {
  const script = resolve("scripts/origin/start-llama-server");
  const child = spawn(script, ["--alias", UPSTREAM_MODEL, "--port", "0", "--ctx", String(upstreamContext())], { stdio: ["ignore", "pipe", "pipe"] });
  return awaitLine(child, /ORIGIN_URL=(\S+)/, LLAMA_START_TIMEOUT_MS, "llama.cpp origin").then((m) => ({ child, url: m[1]! }));
}
