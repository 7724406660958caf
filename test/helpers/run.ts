/**
 * A child process awaited without blocking the test worker: a long spawnSync (npm install, a build) stalls the
 * worker's event loop and with it vitest's RPC, which then times out under load.
 */
import { spawn } from "node:child_process";

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runAsync(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 300_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** runAsync that throws (with the output) unless the command exits 0; returns stdout. */
export async function runOk(cmd: string, args: string[], opts: Parameters<typeof runAsync>[2] = {}): Promise<string> {
  const r = await runAsync(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
