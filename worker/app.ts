/**
 * The Hono app: middleware (Hono's request id, timing, CORS, bearer auth, body limit) and thin route handlers over
 * the catalog, the backends and the OpenAI formatters.
 */
import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requestId, type RequestIdVariables } from "hono/request-id";
import { matchedRoutes } from "hono/route";
import type { TimingVariables } from "hono/timing";
import { edgeContextLength } from "./backend/edge.js";
import { completeWithFailover } from "./backend/failover.js";
import { chooseBackend, type Backends } from "./backend/router.js";
import { loadCatalog } from "./catalog/catalog.js";
import type { CatalogEntry } from "./catalog/schema.js";
import { workerEngine, workerEngineBuild } from "./engine.js";
import type { Env } from "./env.js";
import { intVar, listVar } from "./vars.js";
import { requireApiKey } from "./http/auth.js";
import { limitBody, readJson } from "./http/body.js";
import { errorResponse, HttpError } from "./http/errors.js";
import { log } from "./http/log.js";
import { metricsPublic, metricsRoute, recordRequest } from "./http/metrics.js";
import { serverTiming, timingOf } from "./http/timing.js";
import { detokenize, tokenize, type TokenizerContext } from "./http/tokenize.js";
import { completionResponse } from "./openai/encode.js";
import type { CompletionRequest } from "./openai/request.js";
import { validateChatRequest, validateTextRequest } from "./openai/validate.js";
import { isOriginConfigured, originBackend } from "./origin/index.js";
import { playground } from "./playground/route.js";
import { edgeBackend, models, turn } from "./runtime/isolate.js";

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_MAX_QUEUE = 8;

type AppEnv = { Bindings: Env; Variables: RequestIdVariables & TimingVariables & { backend: string } };

export const app = new Hono<AppEnv>();

/** An incoming x-request-id is kept when it looks like one (Hono's own rule also refuses '.' and ':'). */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

app.use(requestId({
  limitLength: 128,
  generator: (c) => {
    const incoming = c.req.header("x-request-id");
    return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  },
}));

// Observability headers and one structured log line per request.
app.use("*", async (c, next) => {
  const requestId = c.get("requestId");
  c.set("backend", "edge");
  const started = Date.now();
  await next();
  // Set again: a handler's own Response (an error, a backend's stream) does not carry Hono's prepared headers.
  c.res.headers.set("x-request-id", requestId);
  c.res.headers.set("x-ellm-backend", c.get("backend"));
  recordRequest(matchedRoutes(c).filter((r) => r.method !== "ALL").at(-1)?.path ?? "unmatched", c.res.status);
  log(c.res.status >= 500 ? "error" : "info", "request", {
    requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Date.now() - started,
  });
});

app.use("*", (c, next) => {
  const origins = listVar(c.env.CORS_ORIGINS);
  if (origins.length === 0) return next();
  return cors({
    origin: origins.includes("*") ? "*" : (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["authorization", "content-type", "x-request-id"],
    exposeHeaders: ["x-request-id", "x-ellm-backend", "server-timing", "retry-after"],
    maxAge: 86400,
  })(c, next);
});

app.use(serverTiming());

for (const path of ["/v1/*", "/tokenize", "/detokenize"]) {
  app.use(path, requireApiKey(), limitBody((env) => intVar(env.MAX_BODY_BYTES, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1)));
}
app.use("/metrics", requireApiKey(metricsPublic));

app.get("/healthz", (c) => {
  const engine = workerEngine();
  return c.json({
    status: "ok",
    auth: listVar(c.env.API_KEYS).length > 0 ? "enabled" : "disabled",
    engine: { version: engine.engineVersion(), simd128: engine.simdEnabled(), build: workerEngineBuild() },
    model: { loaded: models.currentId ?? null, ...models.stats },
    queue: {
      running: turn.running, waiting: turn.waiting, max: intVar(c.env.MAX_QUEUE, "MAX_QUEUE", DEFAULT_MAX_QUEUE),
      reclaimed: turn.stats.reclaimed, waitersDropped: turn.stats.waitersDropped,
    },
    generations: edgeBackend.stats,
  });
});

app.get("/", playground);

app.get("/v1/models", (c) => c.json({ object: "list", data: loadCatalog(c.env.CATALOG).entries.map((e) => modelObject(e, c.env)) }));

app.get("/v1/models/:id{.+}", (c) => c.json(modelObject(findModel(c.env, c.req.param("id")), c.env)));

app.post("/v1/chat/completions", async (c) => complete(c, validateChatRequest(await readJson(c))));

app.post("/v1/completions", async (c) => complete(c, validateTextRequest(await readJson(c))));

app.post("/tokenize", async (c) => c.json(await tokenize(await readJson(c), tokenizerContext(c))));

app.post("/detokenize", async (c) => c.json(await detokenize(await readJson(c), tokenizerContext(c))));

app.get("/metrics", (c) => metricsRoute(c.env, { turn, models }));

app.notFound((c) => errorResponse(new HttpError(404, "not_found_error", `Unknown route: ${c.req.method} ${c.req.path}`, null, "unknown_route")));

app.onError((err, c) => {
  if (err instanceof HttpError) return errorResponse(err);
  if (err instanceof HTTPException) return err.getResponse(); // Hono's middleware (bearer auth): our body inside
  const requestId = c.get("requestId") ?? "unknown";
  log("error", "unhandled_error", { requestId, error: err.message, stack: err.stack });
  return errorResponse(
    new HttpError(500, "server_error", `The server had an error processing your request (request id ${requestId}).`, null, "internal_error"),
  );
});

async function complete(c: Context<AppEnv>, request: CompletionRequest): Promise<Response> {
  const entry = findModel(c.env, request.model);
  const backends: Backends = { edge: edgeBackend, ...(isOriginConfigured(c.env) ? { origin: originBackend } : {}) };
  const originOnly =
    request.kind === "chat" && request.originOnly
      ? { feature: Object.keys(request.originOnly.fields)[0]!, refusal: request.originOnly.refusal }
      : undefined;
  const { backend, reason } = chooseBackend(entry, backends, edgeContextLength(entry, c.env), originOnly);
  c.set("backend", backend.name);
  log("info", "route", { requestId: c.get("requestId"), model: entry.id, backend: backend.name, reason });
  const done = await completeWithFailover(backend, backends, entry, request, {
    requestId: c.get("requestId"),
    signal: c.req.raw.signal,
    env: c.env,
    timing: timingOf(c),
  });
  // The reason travels with the header when a feature, not the catalog, sent the request to the origin.
  c.set("backend", originOnly && done.backend.name === "origin" ? `origin; feature=${originOnly.feature}` : done.backend.name);
  return completionResponse(request, done.stream);
}

function tokenizerContext(c: Context<AppEnv>): TokenizerContext {
  const firstEdge = () => loadCatalog(c.env.CATALOG).entries.find((e) => e.backend !== "origin")?.id ?? "";
  return {
    env: c.env, signal: c.req.raw.signal, turn, models, maxWaiting: intVar(c.env.MAX_QUEUE, "MAX_QUEUE", DEFAULT_MAX_QUEUE),
    findModel: (id) => findModel(c.env, id ?? firstEdge()),
  };
}

function findModel(env: Env, id: string): CatalogEntry {
  const entry = loadCatalog(env.CATALOG).get(id);
  if (!entry) {
    throw new HttpError(404, "invalid_request_error", `The model '${id}' does not exist.`, "model", "model_not_found");
  }
  return entry;
}

/**
 * `context_length` is what a request can use here: the KV cache the edge allocates (CONTEXT_LENGTH caps it), or the
 * catalog's context where a longer prompt can go to the origin. `edge_context_length` is the edge's own allocation.
 */
function modelObject(e: CatalogEntry, env: Env) {
  const edgeContext = e.backend === "origin" ? undefined : edgeContextLength(e, env);
  const originTakesLonger = e.backend === "origin" || (e.backend === "auto" && isOriginConfigured(env));
  return {
    id: e.id,
    object: "model",
    created: e.created ?? 0,
    owned_by: "ellm-edge",
    context_length: originTakesLonger || edgeContext === undefined ? e.contextLength : edgeContext,
    ...(edgeContext !== undefined ? { edge_context_length: edgeContext } : {}),
    quantization: e.quantization,
    backend: e.backend,
    ...(e.description !== undefined ? { description: e.description } : {}),
  };
}
