/** POST /tokenize and /detokenize (llama.cpp server's shapes) on the fixture model and on stories260K. */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { bundledCatalog } from "../../models/index.js";
import { get, health, post, seedModels, type OpenAIError } from "./helpers.js";

type Piece = string | number[];
interface Tokens { tokens: number[] }
interface Pieces { tokens: { id: number; piece: Piece }[] }

const UNICODE = "Hello, wörld — 媽 and emoji 🤗!\nnew line";
const utf8 = new TextEncoder();

async function tokenize(body: object): Promise<Response> {
  return post("/tokenize", body);
}
async function tokens(model: string, content: string, extra: object = {}): Promise<number[]> {
  const res = await tokenize({ model, content, ...extra });
  expect(res.status).toBe(200);
  return ((await res.json()) as Tokens).tokens;
}
async function detokenize(model: string, ids: number[]): Promise<string> {
  const res = await post("/detokenize", { model, tokens: ids });
  expect(res.status).toBe(200);
  return ((await res.json()) as { content: string }).content;
}
async function expectError(res: Response, status: number, param: string | null, code?: string): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as OpenAIError;
  expect(body.error.param).toBe(param);
  if (code) expect(body.error.code).toBe(code);
}
const pieceBytes = (p: Piece) => (typeof p === "string" ? [...utf8.encode(p)] : p);

beforeAll(seedModels);

/** The same checks on any SentencePiece model whose BOS is `<s>` = 1. */
function roundTrips(model: string) {
  it("round-trips unicode text, without BOS unless add_special", async () => {
    const ids = await tokens(model, UNICODE);
    expect(ids.length).toBeGreaterThan(5);
    expect(ids[0]).not.toBe(1);
    expect(await detokenize(model, ids)).toBe(UNICODE);
    const withBos = await tokens(model, UNICODE, { add_special: true });
    expect(withBos).toEqual([1, ...ids]);
  });

  it("gives each token's piece: a string when valid UTF-8, its bytes otherwise; together they spell the text", async () => {
    const res = await tokenize({ model, content: UNICODE, with_pieces: true });
    const { tokens: pieces } = (await res.json()) as Pieces;
    expect(pieces.map((p) => p.id)).toEqual(await tokens(model, UNICODE));
    for (const p of pieces) expect(typeof p.piece === "string" || p.piece.every((b) => Number.isInteger(b) && b >= 0 && b < 256)).toBe(true);
    expect(pieces.some((p) => Array.isArray(p.piece))).toBe(true); // 🤗 falls back to bytes: no piece is valid UTF-8 alone
    const bytes = pieces.flatMap((p) => pieceBytes(p.piece));
    // SentencePiece's dummy prefix: the first piece carries a space the decoded text does not.
    expect(new TextDecoder().decode(new Uint8Array(bytes))).toBe(` ${UNICODE}`);
  });

  it("parses special-token text as the control token (as llama.cpp's /tokenize does) unless parse_special is false", async () => {
    const special = await tokens(model, "<s>Once</s>");
    expect(special).toContain(1);
    expect(special).toContain(2);
    const plain = await tokens(model, "<s>Once</s>", { parse_special: false });
    expect(plain).not.toContain(1);
    expect(plain).not.toContain(2);
    expect(await detokenize(model, plain)).toBe("<s>Once</s>");
    // Detokenizing renders control tokens as their text.
    expect(await detokenize(model, [1, ...(await tokens(model, "Once"))])).toContain("Once");
    expect(await detokenize(model, special)).toContain("</s>");
  });
}

describe("tokenize on the fixture model", () => {
  roundTrips("tiny-llama");

  it("validates fields in OpenAI's error shape", async () => {
    await expectError(await tokenize({ model: "tiny-llama" }), 400, "content", "missing_required_parameter");
    await expectError(await tokenize({ model: "tiny-llama", content: 5 }), 400, "content", "invalid_type");
    await expectError(await tokenize({ model: "tiny-llama", content: "a", add_special: "yes" }), 400, "add_special", "invalid_type");
    await expectError(await tokenize({ model: "tiny-llama", content: "a", with_pieces: 1 }), 400, "with_pieces", "invalid_type");
    await expectError(await tokenize({ model: "gpt-9", content: "a" }), 404, "model", "model_not_found");
    await expectError(await tokenize({ model: "origin-only", content: "a" }), 400, "model", "model_not_on_edge");
    await expectError(await post("/detokenize", { model: "tiny-llama" }), 400, "tokens", "missing_required_parameter");
    await expectError(await post("/detokenize", { model: "tiny-llama", tokens: "1 2" }), 400, "tokens", "invalid_type");
    await expectError(await post("/detokenize", { model: "tiny-llama", tokens: [1, 512] }), 400, "tokens");
    await expectError(await post("/detokenize", { model: "tiny-llama", tokens: [1.5] }), 400, "tokens");
    await expectError(await post("/tokenize", "[]"), 400, null);
  });

  it("is behind the API keys", async () => {
    await expectError(await post("/tokenize", { content: "a" }, { key: null }), 401, null, "missing_api_key");
    await expectError(await post("/detokenize", { tokens: [] }, { key: "wrong" }), 401, null, "invalid_api_key");
  });

  it("answers a bad model's load failure as a 503", async () => {
    await expectError(await tokenize({ model: "missing-object", content: "a" }), 503, "model", "model_load_failed");
  });
});

describe.skipIf(!env.HAVE_STORIES)("tokenize on stories260K", () => {
  roundTrips("stories");

  // Ids from native llama.cpp (node-llama-cpp's model.tokenize(text, true) on the same file). llama.cpp's README shows
  // 'á' as [198, 164]: it leaves out the dummy-prefix space token (410) that llama.cpp itself puts first.
  it("gives llama.cpp's ids and pieces: 'á' is a space then two byte tokens, '<s>Once</s>' is BOS, Once, EOS", async () => {
    const { tokens: pieces } = (await (await tokenize({ model: "stories", content: "á", with_pieces: true })).json()) as Pieces;
    expect(pieces).toEqual([{ id: 410, piece: " " }, { id: 198, piece: [195] }, { id: 164, piece: [161] }]);
    expect(await tokens("stories", "<s>Once</s>")).toEqual([1, 403, 2]);
  });

  it("loads the requested model when another is loaded, and defaults to the catalog's first edge model", async () => {
    await tokens("tiny-llama", "hi");
    expect((await health()).model.loaded).toBe("tiny-llama");
    const storiesIds = await tokens("stories", "Once upon a time");
    expect((await health()).model.loaded).toBe("stories");

    // The bundled stories260k entry: put its weights where it says they are, and it tokenizes as the test copy does.
    const bundled = bundledCatalog.find((e) => (e as { id: string }).id === "stories260k") as { id: string; r2Key: string };
    if (!(await env.MODELS.head(bundled.r2Key))) {
      await env.MODELS.put(bundled.r2Key, await (await env.MODELS.get("test/stories260K.gguf"))!.arrayBuffer());
    }
    expect(await tokens(bundled.id, "Once upon a time")).toEqual(storiesIds);
    expect((await health()).model.loaded).toBe(bundled.id);

    // Without `model`: the catalog's first edge model (whose weights this test bucket does not hold, so the load fails
    // and the 503 names it).
    const catalog = (await (await get("/v1/models")).json()) as { data: { id: string; backend: string }[] };
    const first = catalog.data.find((e) => e.backend !== "origin")!;
    expect(first.id).not.toBe("stories");
    const res = await tokenize({ content: "Once upon a time" });
    if (first.id === bundled.id) {
      expect(res.status).toBe(200);
      expect(((await res.json()) as Tokens).tokens).toEqual(storiesIds);
    } else {
      expect(res.status).toBe(503);
      expect(((await res.json()) as OpenAIError).error.message).toContain(`'${first.id}'`);
    }
  });
});
