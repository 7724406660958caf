/**
 * `ellm` command line: run a prompt or chat with a local GGUF model, streaming tokens to the terminal.
 *
 *   ellm run <model.gguf> "prompt" [options]
 *   ellm chat <model.gguf> [--system "…"] [options]
 *   options: --max-tokens N  --temperature T  --top-p P  --top-k K  --seed S  --context N  --kv f16|f32|q8_0
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { EllmError } from "../errors.js";
import { Llama } from "../llama.js";
import type { ChatMessage, GenerateOptions, LoadProgress } from "../types.js";
import "./index.js";

const USAGE = `usage:
  ellm run <model.gguf> "prompt" [options]
  ellm chat <model.gguf> [--system "You are …"] [options]
options: --max-tokens N --temperature T --top-p P --top-k K --min-p P --seed S --context N --kv f16|f32|q8_0`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "max-tokens": { type: "string" },
      temperature: { type: "string" },
      "top-p": { type: "string" },
      "top-k": { type: "string" },
      "min-p": { type: "string" },
      seed: { type: "string" },
      context: { type: "string" },
      kv: { type: "string" },
      system: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, modelPath, ...rest] = positionals;
  if (values.help || !command || !modelPath || (command !== "run" && command !== "chat")) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const options: GenerateOptions = {
    maxTokens: num(values["max-tokens"]),
    temperature: num(values.temperature),
    topP: num(values["top-p"]),
    topK: num(values["top-k"]),
    minP: num(values["min-p"]),
    seed: num(values.seed),
  };

  const llama = await Llama.load({
    model: modelPath,
    contextLength: num(values.context),
    kvType: values.kv === "f32" || values.kv === "q8_0" ? values.kv : "f16",
    onProgress: progressBar(),
  });
  process.stderr.write("\n");

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
    const prompt = rest.join(" ");
    if (!prompt) {
      console.error(USAGE);
      return 2;
    }
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

async function pipeToStdout(stream: AsyncGenerator<{ text: string }, { text: string; usage: { completionTokens: number }; timings: { prefillMs: number; decodeMs: number } }>): Promise<string> {
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

function progressBar(): (p: LoadProgress) => void {
  const width = 30;
  return ({ loaded, total }) => {
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    if (total === undefined || total <= 0) {
      process.stderr.write(`\rloading ${mib(loaded)} MiB`);
      return;
    }
    const frac = Math.min(1, loaded / total);
    const filled = Math.round(frac * width);
    process.stderr.write(
      `\rloading [${"#".repeat(filled)}${".".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mib(loaded)}/${mib(total)} MiB`,
    );
  };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof EllmError) console.error(`ellm: ${err.code}: ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
