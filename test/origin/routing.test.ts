/**
 * The origin through the Worker's own routes (SELF): the router picks the backend per catalog entry, the contract
 * holds on the origin path too, and the client's key stops at the Worker. The project's ORIGIN_URL is the real
 * upstream (llama.cpp's server, else `ellm serve`: test/origin/global-setup.ts) behind the fault server's recording relay. Needs app.ts to hand `originBackend` to chooseBackend when ORIGIN_URL is set.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { RecordedRequest } from "./fault-server.js";
import { runContractSuite, upstreamGaps } from "./contract.js";
import { CLIENT_KEY, seedStories, workerFetch } from "./harness.js";

const faultUrl = inject("faultUrl");
const request = (model: string, requestId: string) =>
  workerFetch("/v1/completions", {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ model, prompt: "Once upon a time", max_tokens: 3, temperature: 0 }),
  });
const recorded = async (id: string): Promise<RecordedRequest[]> => (await fetch(`${faultUrl}/__log/${id}`)).json();

describe("origin behind the Worker's routes", () => {
  beforeAll(seedStories);

  it("routes the same request to the edge for a small model and to the origin for one over the budget", async () => {
    const cases = [
      { model: "stories", backend: "edge" }, // backend "edge"
      { model: "stories-origin", backend: "origin" }, // backend "origin"
      { model: "stories-huge", backend: "origin" }, // backend "auto", 2 GB of weights
    ];
    for (const { model, backend } of cases) {
      const id = `route-${model}-${crypto.randomUUID()}`;
      const res = await request(model, id);
      expect(res.status, model).toBe(200);
      expect(res.headers.get("x-ellm-backend"), model).toBe(backend);
      expect(((await res.json()) as { model: string }).model).toBe(model);
      expect((await recorded(id)).length, `${model} reached the origin?`).toBe(backend === "origin" ? 1 : 0);
    }
  });

  it("fails over from the edge to the origin when an auto model cannot be served on the edge", async () => {
    const id = `failover-${crypto.randomUUID()}`;
    const res = await request("stories-auto-missing", id);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ellm-backend")).toBe("origin");
    expect(((await res.json()) as { model: string }).model).toBe("stories-auto-missing");
    expect((await recorded(id)).length).toBe(1);

    // An edge-only model has nowhere else to go: the load failure is the answer.
    const edgeOnly = await request("stories-edge-missing", `no-failover-${crypto.randomUUID()}`);
    expect(edgeOnly.status).toBe(503);
    expect(((await edgeOnly.json()) as { error: { code: string } }).error.code).toBe("model_load_failed");
  });

  it("forwards with the origin's key and the upstream model name, never the client's key", async () => {
    const id = `key-${crypto.randomUUID()}`;
    const res = await request("stories-origin", id);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const [up] = await recorded(id);
    expect(up!.headers.authorization).toBe("Bearer origin-secret");
    expect(JSON.stringify(up!.headers)).not.toContain(CLIENT_KEY);
    expect((up!.body as { model: string }).model).toBe(inject("upstreamModel"));
  });

  runContractSuite(`origin (Worker routes → ${inject("upstreamKind")} server)`, workerFetch, "stories-origin", upstreamGaps(inject("upstreamKind")));
});
