/**
 * `ellm` command line: run a prompt, chat, serve the OpenAI routes or benchmark a GGUF model (a path or an
 * http(s) URL), with progress bars for downloads and loads on stderr.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { EllmError } from "../errors.js";
import { Llama } from "../llama.js";
import type { ChatMessage, GenerateOptions, GenerationResult, KvType, TextDelta } from "../types.js";
import { benchmark, formatBench } from "./bench.js";
import { downloadModel, isUrl } from "./download.js";
import "./index.js";
import { progressBar } from "./progress.js";

const USAGE = `usage:
  ellm run   <model.gguf|url> "prompt" [options]   complete a prompt, streamed to stdout
  ellm chat  <model.gguf|url> [--system "…"] [options]   chat in the terminal (Ctrl-C stops a reply, /exit quits)
  ellm serve <model.gguf|url>... [--port 8787] [--host 127.0.0.1] [--context N]
             the OpenAI routes and the playground (http://host:port/); API_KEYS, CORS_ORIGINS, MAX_QUEUE,
             PLAYGROUND from the environment, as for the Worker
  ellm bench <model.gguf> [--prompt 128] [--gen 128] [--runs 3] [--context 1024] [--kv f16|f32|q8_0] [--json]
options: --max-tokens N --temperature T --top-p P --top-k K --min-p P --seed S --context N --kv f16|f32|q8_0`;

const OPTIONS = {
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  "top-k": { type: "string" },
  "min-p": { type: "string" },
  seed: { type: "string" },
  context: { type: "string" },
  kv: { type: "string" },
  system: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  prompt: { type: "string" },
  gen: { type: "string" },
  runs: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>["values"];

class UsageError extends Error {}

/** The KV cache type: f16 unless --kv names another one. */
function kvType(values: Values): KvType {
  const kv = values.kv ?? "f16";
  if (kv !== "f16" && kv !== "f32" && kv !== "q8_0") throw new UsageError(`--kv must be f16, f32 or q8_0, got ${JSON.stringify(kv)}`);
  return kv;
}

/** A number option: undefined when absent, a usage error when not a number. */
function num(values: Values, name: keyof Values): number | undefined {
  const v = values[name];
  if (v === undefined || typeof v !== "string") return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    console.error(`ellm: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help) {
    console.error(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case "run":
      case "chat":
        return await generate(command, values, rest);
      case "serve":
        return await serveCommand(values, rest);
      case "bench":
        return await benchCommand(values, rest);
      default:
        throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : "no command");
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`ellm: ${e.message}\n${USAGE}`);
    return 2;
  }
}

async function generate(command: "run" | "chat", values: Values, [model, ...words]: string[]): Promise<number> {
  if (!model) throw new UsageError("no model given");
  const prompt = words.join(" ");
  if (command === "run" && !prompt) throw new UsageError("no prompt given");
  const options: GenerateOptions = {
    maxTokens: num(values, "max-tokens"),
    temperature: num(values, "temperature"),
    topP: num(values, "top-p"),
    topK: num(values, "top-k"),
    minP: num(values, "min-p"),
    seed: num(values, "seed"),
  };
  const bar = progressBar(isUrl(model) ? "downloading" : "loading");
  const llama = await Llama.load({
    model,
    contextLength: num(values, "context"),
    kvType: kvType(values),
    onProgress: ({ loaded, total }) => bar(loaded, total),
  });
  bar.done();

  // Ctrl-C stops the reply being generated; a second one (or one at the prompt) exits.
  let generating: AbortController | undefined;
  process.on("SIGINT", () => {
    if (generating && !generating.signal.aborted) generating.abort();
    else process.exit(130);
  });
  const turn = () => {
    generating = new AbortController();
    return { ...options, signal: generating.signal };
  };

  if (command === "run") {
    process.stdout.write(prompt);
    await pipeToStdout(llama.generateStream(prompt, turn()));
    return 0;
  }

  const history: ChatMessage[] = values.system ? [{ role: "system", content: values.system }] : [];
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (;;) {
      const line = await rl.question("> ").catch(() => null);
      if (line === null || line.trim() === "/exit") return 0;
      if (line.trim() === "") continue;
      history.push({ role: "user", content: line });
      const reply = await pipeToStdout(llama.chatCompletionStream(history, turn())).catch((e: unknown) => {
        if (e instanceof EllmError && e.code === "aborted") return "";
        throw e;
      });
      history.push({ role: "assistant", content: reply });
    }
  } finally {
    rl.close();
  }
}

async function pipeToStdout(stream: AsyncGenerator<TextDelta, GenerationResult>): Promise<string> {
  for (;;) {
    const step = await stream.next();
    if (step.done) {
      const r = step.value;
      const tps = r.usage.completionTokens > 1 ? ((r.usage.completionTokens - 1) / r.timings.decodeMs) * 1000 : 0;
      process.stdout.write("\n");
      process.stderr.write(`[${r.usage.completionTokens} tokens, prefill ${r.timings.prefillMs.toFixed(0)} ms, ${tps.toFixed(1)} tok/s]\n`);
      return r.text;
    }
    process.stdout.write(step.value.text);
  }
}

/** URLs become cached files (a server hashes and may reload them); paths stay as they are. */
async function localFiles(sources: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const source of sources) {
    if (!isUrl(source)) {
      files.push(source);
      continue;
    }
    const bar = progressBar(`downloading ${source}`);
    files.push(await downloadModel(source, bar));
    bar.done();
  }
  return files;
}

async function serveCommand(values: Values, sources: string[]): Promise<number> {
  if (sources.length === 0) throw new UsageError("no model given");
  const port = num(values, "port") ?? 8787;
  const files = await localFiles(sources);
  const { serve } = await import("./serve.js");
  let starting = true;
  let bar: ReturnType<typeof progressBar> | undefined;
  let phase = "";
  const server = await serve({
    models: files,
    port,
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values.context !== undefined ? { contextLength: num(values, "context")! } : {}),
    onProgress: (p, model, loaded, total) => {
      if (!starting) return; // later loads (a request for another model) are in the request log
      if (`${p} ${model}` !== phase) {
        bar?.done();
        phase = `${p} ${model}`;
        bar = progressBar(phase);
      }
      bar!(loaded, total);
    },
  });
  starting = false;
  bar?.done();
  const auth = (process.env.API_KEYS ?? "").trim() ? "API_KEYS set: Bearer auth on" : "auth off (set API_KEYS to require a key)";
  process.stderr.write(
    `ellm: serving ${server.models.map((m) => m.id).join(", ")} on ${server.url}/v1 (${auth}); playground: ${server.url}/\n`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await new Promise(() => undefined); // until a signal
  return 0;
}

async function benchCommand(values: Values, [file]: string[]): Promise<number> {
  if (!file) throw new UsageError("no model given");
  const summary = await benchmark(file, {
    promptTokens: num(values, "prompt") ?? 128,
    genTokens: num(values, "gen") ?? 128,
    runs: num(values, "runs") ?? 3,
    contextLength: num(values, "context") ?? 1024,
    kvType: kvType(values),
  });
  console.log(values.json ? JSON.stringify(summary) : formatBench(summary));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof EllmError) console.error(`ellm: ${err.code}: ${err.message}`);
    else console.error(`ellm: ${(err as Error).message ?? err}`);
    process.exit(1);
  },
);
