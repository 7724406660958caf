/**
 * Global setup of the `origin` vitest project (runs in Node, outside workerd): starts the fault-injecting origin and
 * the real llama.cpp server (scripts/origin/start-llama-server, which installs llama-cpp-python on first use), and
 * hands their addresses to the tests through `provide`. ELLM_ORIGIN_URL=<url> uses an already running origin instead.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { closedPort, setRelayTarget, startFaultServer } from "./fault-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the fault server; scenarios are path prefixes. */
    faultUrl: string;
    /** http://127.0.0.1:<port> with nothing listening (connection refused). */
    refusedUrl: string;
    /** Base URL of the real llama.cpp origin. */
    llamaUrl: string;
    /** The model name llama.cpp serves (the catalog's origin.model). */
    llamaModel: string;
  }
}

const LLAMA_MODEL = "stories-upstream";
/** First use compiles llama.cpp (pip); later starts take a second. */
const LLAMA_START_TIMEOUT_MS = 40 * 60_000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fault = await startFaultServer();
  project.provide("faultUrl", `http://127.0.0.1:${fault.port}`);
  project.provide("refusedUrl", `http://127.0.0.1:${await closedPort()}`);
  project.provide("llamaModel", LLAMA_MODEL);

  let llama: ChildProcess | undefined;
  // Read through globalThis: the workers pool's Vite config rewrites the `process.env` expression in loaded modules.
  const external = (Reflect.get(globalThis, "process") as NodeJS.Process).env.ELLM_ORIGIN_URL;
  if (external) {
    project.provide("llamaUrl", external.replace(/\/+$/, ""));
  } else if (llamaWanted()) {
    const started = await startLlama();
    llama = started.child;
    project.provide("llamaUrl", started.url);
  } else {
    console.warn(
      "origin tests: no llama.cpp origin (ELLM_ORIGIN_LLAMA=1 installs and starts one, ELLM_ORIGIN_URL=<url> uses yours): " +
        "the suites that need a real OpenAI-compatible server are skipped; the fault-injecting origin still runs",
    );
    project.provide("llamaUrl", "");
  }
  const llamaUrl = project.getProvidedContext().llamaUrl;
  if (llamaUrl) setRelayTarget(llamaUrl);

  return async () => {
    await new Promise<void>((done) => fault.server.close(() => done()));
    fault.server.closeAllConnections();
    if (llama && llama.exitCode === null) {
      const exited = new Promise<void>((done) => llama!.once("exit", () => done()));
      llama.kill("SIGTERM");
      await exited;
    }
  };
}

/**
 * llama.cpp runs when asked (ELLM_ORIGIN_LLAMA=1) or when its venv is already installed. The first install compiles
 * llama.cpp (tens of minutes on 2 cores), too long for every CI run: on a fresh machine it is opt-in.
 */
function llamaWanted(): boolean {
  const env = (Reflect.get(globalThis, "process") as NodeJS.Process).env;
  if (env.ELLM_ORIGIN_LLAMA === "0" || !existsSync(resolve("../shared/models/stories260K.gguf"))) return false; // the model it serves
  if (env.ELLM_ORIGIN_LLAMA === "1") return true;
  const venv = env.ELLM_ORIGIN_VENV ?? resolve(".venv-origin");
  return spawnSync(resolve(venv, "bin/python"), ["-c", "import llama_cpp.server, uvicorn"], { stdio: "ignore" }).status === 0;
}

function startLlama(): Promise<{ child: ChildProcess; url: string }> {
  const script = resolve("scripts/origin/start-llama-server");
  const child = spawn(script, ["--alias", LLAMA_MODEL, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`llama.cpp origin did not start within ${LLAMA_START_TIMEOUT_MS} ms:\n${stderr}`));
    }, LLAMA_START_TIMEOUT_MS);
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /ORIGIN_URL=(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, url: m[1]! });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`llama.cpp origin exited (code ${code}) before it was ready:\n${stderr}`));
    });
  });
}
