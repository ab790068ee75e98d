/**
 * Who may reach the emulator: browsers (Sec-Fetch-Site, Origin) never, and on
 * a loopback bind only requests naming a local Host (DNS rebinding); workers
 * call back with the RUNPOD_API_KEY they are given (their worker key).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/runpod/wire-types.js";
import { FAKE_WORKER_COMMAND, useEmulator, type TestEmulator } from "../unit/emulator/emulator-fixtures.js";

const KEY = "security-key-1234";
let t: TestEmulator;
let lb: Endpoint;

beforeAll(async () => {
  t = await useEmulator({ apiKey: KEY });
  lb = await t.createEndpoint({ name: "lb-guarded", type: "LOAD_BALANCER", args: FAKE_WORKER_COMMAND, workers: { min: 0, max: 1, idleTimeout: 30 } });
});
afterAll(async () => {
  await t.close();
});

interface RawAnswer {
  status: number;
  type: string;
  body: Record<string, unknown>;
}

/** A request with exactly these headers (fetch would not let us set Host, and may drop Origin). */
function raw(base: string, path: string, headers: Record<string, string>, method = "GET"): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers: { authorization: `Bearer ${KEY}`, ...headers } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on("error", reject);
    req.end(method === "POST" ? JSON.stringify({ input: 1 }) : undefined);
  });
}

describe("requests from browsers", () => {
  it("are refused with 403 on every API, before authentication, admin or faults", async () => {
    const origin = { origin: "https://evil.example" };
    const job = await raw(t.url, `/v2/${lb.id}/health`, origin);
    expect(job.status).toBe(403);
    expect(job.body).toEqual({ error: expect.stringMatching(/browser request from Origin https:\/\/evil\.example refused/), status: 403 });

    const rest = await raw(t.url, "/v2/serverless", origin, "POST");
    expect(rest.status).toBe(403);
    expect(rest.type).toMatch(/^application\/problem\+json/);
    expect(rest.body).toMatchObject({ title: "Forbidden", status: 403 });

    expect((await raw(t.url, "/__emulator/state", origin)).body).toMatchObject({ status: 403 });
    expect((await raw(t.url, `/lb/${lb.id}/x`, origin)).status).toBe(403);
    expect((await raw(t.url, `/v2/${lb.id}/ping/w1`, { ...origin, authorization: t.emulator.workerApiKey })).status).toBe(403);
    // Without a key too: the refusal is not an authentication question.
    expect((await raw(t.url, "/v2/serverless", { ...origin, authorization: "" })).status).toBe(403);
    expect((await raw(t.url, "/v2/serverless", { origin: "null" })).status).toBe(403);
  });

  it("are told apart by Sec-Fetch-Site: only none (a typed URL) passes; the emulator has no pages, so same-origin is refused too", async () => {
    for (const site of ["cross-site", "same-site", "same-origin"]) {
      const res = await raw(t.url, "/v2/serverless", { "sec-fetch-site": site });
      expect(res.status, site).toBe(403);
      expect(res.body).toMatchObject({ status: 403, detail: expect.stringMatching(/browser request .*refused/) });
    }
    // A link or an <img> on a page: Fetch Metadata and a Referer, no Origin.
    const img = await raw(t.url, `/lb/${lb.id}/x`, { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors", referer: "https://evil.example/" });
    expect(img.status).toBe(403);
    expect((await raw(t.url, "/v2/serverless", { "sec-fetch-site": "none" })).status).toBe(200);
  });

  it("leave a fault rule untouched: refusals come before faults", async () => {
    const fault = t.emulator.faults.add({ route: "^GET /v2/serverless$", status: 500 });
    try {
      expect((await raw(t.url, "/v2/serverless", { origin: "https://evil.example" })).status).toBe(403);
      expect((await raw(t.url, "/v2/serverless", {})).status).toBe(500);
      expect(t.emulator.faults.list().find((f) => f.id === fault.id)?.hits).toBe(1);
    } finally {
      t.emulator.faults.remove(fault.id);
    }
  });
});

describe("the Host header on a loopback bind (DNS rebinding)", () => {
  it("must be a local name", async () => {
    const port = new URL(t.url).port;
    for (const host of [`evil.example:${port}`, "attacker.test", `127.0.0.1.nip.io:${port}`, `0.0.0.0:${port}`]) {
      const res = await raw(t.url, "/v2/serverless", { host });
      expect(res.status, host).toBe(403);
      expect(res.body).toMatchObject({ status: 403, detail: expect.stringMatching(/only answers to localhost/) });
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "127.0.0.2", `[::1]:${port}`, `tools.localhost:${port}`, "LOCALHOST"]) {
      expect((await raw(t.url, "/v2/serverless", { host })).status, host).toBe(200);
    }
  });

  it("keeps load-balanced routing by Host: {endpointId}.localhost working", async () => {
    const port = new URL(t.url).port;
    const res = await raw(t.url, "/via-host", { host: `${lb.id}.localhost:${port}` });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ path: "/via-host" });
  });

  it("is not checked when the emulator is bound to another interface; browsers still are refused", async () => {
    const wide = await useEmulator({ host: "0.0.0.0", apiKey: KEY });
    try {
      expect((await raw(wide.url, "/v2/serverless", { host: "emulator.internal:8080" })).status).toBe(200);
      expect((await raw(wide.url, "/v2/serverless", { host: "emulator.internal:8080", origin: "http://emulator.internal:8080" })).status).toBe(403);
    } finally {
      await wide.close();
    }
  });
});

describe("workers calling back", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "emu-callback-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("get through an emulator with an API key using the RUNPOD_API_KEY they are given", async () => {
    // An LB worker that, asked anything, lists endpoints with its own RUNPOD_API_KEY.
    const script = join(dir, "callback-worker.mjs");
    await writeFile(
      script,
      `import { createServer } from "node:http";
createServer(async (req, res) => {
  if (req.url === "/ping") return void res.writeHead(200).end();
  const answer = await fetch(process.env.RUNPOD_API_BASE_URL + "/v2/serverless", { headers: { authorization: "Bearer " + process.env.RUNPOD_API_KEY } });
  const body = await answer.json();
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: answer.status, key: process.env.RUNPOD_API_KEY, names: (body.endpoints ?? []).map((e) => e.name) }));
}).listen(Number(process.env.PORT), "127.0.0.1");
`,
    );
    const caller = await t.createEndpoint({ name: "lb-caller", type: "LOAD_BALANCER", args: `node ${JSON.stringify(script)}`, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const answer = await t.json<{ status: number; key: string; names: string[] }>(`/lb/${caller.id}/call`);
    expect(answer).toEqual({ status: 200, key: t.emulator.workerApiKey, names: expect.arrayContaining(["lb-caller", "lb-guarded"]) });
  });
});
