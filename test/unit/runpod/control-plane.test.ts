import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createControlPlaneClient } from "../../../src/runpod/control-plane.js";
import type { ControlPlaneClient } from "../../../src/runpod/control-plane.js";
import { RunpodError } from "../../../src/runpod/errors.js";
import type { CreateEndpointRequest, Endpoint } from "../../../src/runpod/wire-types.js";
import { refusedUrl, sendJson, sendProblem, startFakeServer } from "./fake-server.js";
import type { FakeServer } from "./fake-server.js";

const KEY = "rpa_TESTKEY123456";

function endpoint(id: string, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    id,
    name: `ep-${id}`,
    type: "QUEUE",
    workers: { min: 0, max: 3, idleTimeout: 5 },
    scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
    dataCenterIds: [],
    networkVolumes: [],
    timeout: 300000,
    flashboot: "OFF",
    createdAt: "2026-06-01T12:00:00Z",
    ...extra,
  };
}

const CREATE: CreateEndpointRequest = {
  name: "live-gpu-worker",
  type: "QUEUE",
  scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
  image: "runpod/flash-ts:latest",
  gpu: { pools: ["ADA_24"] },
  workers: { min: 0, max: 3 },
};

let server: FakeServer;
let client: ControlPlaneClient;

beforeEach(async () => {
  server = await startFakeServer();
  client = createControlPlaneClient({ apiKey: KEY, apiBaseUrl: `${server.url}/`, retry: { attempts: 3, baseDelayMs: 1 } });
});

afterEach(async () => {
  await client.close();
  await server.close();
});

describe("control plane calls", () => {
  it("createEndpoint POSTs the body to /v2/serverless with Bearer auth and reads the 201", async () => {
    server.handle((req, res) => sendJson(res, 201, endpoint("new1", { name: (req.json as CreateEndpointRequest).name })));
    const created = await client.createEndpoint(CREATE);
    expect(created).toMatchObject({ id: "new1", name: "live-gpu-worker" });
    const [req] = server.requests;
    expect(req).toMatchObject({ method: "POST", url: "/v2/serverless", json: CREATE });
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.headers["content-type"]).toBe("application/json");
  });

  it("listEndpoints unwraps {endpoints}", async () => {
    server.handle((_req, res) => sendJson(res, 200, { endpoints: [endpoint("a"), endpoint("b")] }));
    const list = await client.listEndpoints();
    expect(list.map((e) => e.id)).toEqual(["a", "b"]);
    expect(server.requests[0]).toMatchObject({ method: "GET", url: "/v2/serverless" });
  });

  it("getEndpoint GETs /v2/serverless/{id} (id encoded)", async () => {
    server.handle((_req, res) => sendJson(res, 200, endpoint("x y")));
    expect((await client.getEndpoint("x y")).id).toBe("x y");
    expect(server.requests[0]).toMatchObject({ method: "GET", url: "/v2/serverless/x%20y" });
  });

  it("updateEndpoint PATCHes only the given fields", async () => {
    server.handle((_req, res) => sendJson(res, 200, endpoint("e1", { workers: { min: 1, max: 10 } })));
    const updated = await client.updateEndpoint("e1", { workers: { min: 1, max: 10 } });
    expect(updated.workers).toEqual({ min: 1, max: 10 });
    expect(server.requests[0]).toMatchObject({ method: "PATCH", url: "/v2/serverless/e1", json: { workers: { min: 1, max: 10 } } });
  });

  it("deleteEndpoint resolves on 204 and on 404 (already gone)", async () => {
    server.handle((req, res) => {
      if (req.path.endsWith("/gone")) sendProblem(res, 404, "Not Found", "resource not found");
      else {
        res.writeHead(204);
        res.end();
      }
    });
    await expect(client.deleteEndpoint("e1")).resolves.toBeUndefined();
    await expect(client.deleteEndpoint("gone")).resolves.toBeUndefined();
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["DELETE /v2/serverless/e1", "DELETE /v2/serverless/gone"]);
  });

  it("omits the Authorization header without a key", async () => {
    const anonymous = createControlPlaneClient({ apiKey: undefined, apiBaseUrl: server.url });
    try {
      server.handle((_req, res) => sendJson(res, 200, { endpoints: [] }));
      await anonymous.listEndpoints();
      expect(server.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await anonymous.close();
    }
  });

  it("rejects an empty id without a request", async () => {
    await expect(client.getEndpoint("")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(server.requests).toHaveLength(0);
  });
});

describe("error mapping", () => {
  it.each([
    [401, "UNAUTHORIZED"],
    [403, "UNAUTHORIZED"],
    [404, "NOT_FOUND"],
    [400, "INVALID_INPUT"],
    [422, "INVALID_INPUT"],
    [429, "RATE_LIMITED"],
    [500, "UPSTREAM_ERROR"],
    [503, "UPSTREAM_ERROR"],
  ] as const)("HTTP %i → %s, keeping status and body", async (status, code) => {
    server.handle((_req, res) => sendProblem(res, status, "Problem", `detail for ${status}`, { "retry-after": "100" }));
    const error = await client.createEndpoint(CREATE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunpodError);
    expect(error).toMatchObject({ code, status, upstreamStatus: status, body: { title: "Problem", status, detail: `detail for ${status}` } });
    expect((error as Error).message).toContain(`detail for ${status}`);
    expect((error as Error).message).toContain(`HTTP ${status}`);
  });

  it("hints at RUNPOD_API_KEY on 401/403", async () => {
    server.handle((_req, res) => sendProblem(res, 401, "Unauthorized", "missing bearer token"));
    await expect(client.listEndpoints()).rejects.toMatchObject({ code: "UNAUTHORIZED", hint: expect.stringContaining("RUNPOD_API_KEY") as unknown });
  });

  it("includes problem+json validation errors in the message", async () => {
    server.handle((_req, res) => {
      res.writeHead(422, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ title: "Unprocessable Entity", status: 422, detail: "Request validation failed.", errors: ["$: additional properties 'bogus' not allowed"] }));
    });
    const error = await client.createEndpoint(CREATE).catch((e: unknown) => e);
    expect((error as Error).message).toContain("additional properties 'bogus'");
  });

  it("takes the message from a {error} body or plain text", async () => {
    server.handle((req, res) => {
      if (req.path.endsWith("/json")) sendJson(res, 400, { error: "bad thing" });
      else {
        res.writeHead(400, { "content-type": "text/plain" });
        res.end("plain bad");
      }
    });
    await expect(client.updateEndpoint("json", {})).rejects.toThrow(/bad thing/);
    await expect(client.updateEndpoint("text", {})).rejects.toThrow(/plain bad/);
  });

  it("truncates huge bodies in the message but keeps them whole on the error", async () => {
    const detail = "x".repeat(5000);
    server.handle((_req, res) => sendProblem(res, 400, "Bad Request", detail));
    const error = (await client.createEndpoint(CREATE).catch((e: unknown) => e)) as RunpodError;
    expect(error.message.length).toBeLessThan(600);
    expect((error.body as { detail: string }).detail).toHaveLength(5000);
  });

  it("maps an unreachable API to UPSTREAM_ERROR naming the base URL and RUNPOD_API_BASE_URL", async () => {
    const url = await refusedUrl();
    const offline = createControlPlaneClient({ apiKey: KEY, apiBaseUrl: url, retry: { attempts: 2, baseDelayMs: 1 } });
    try {
      const error = await offline.getEndpoint("e1").catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "UPSTREAM_ERROR", upstreamStatus: undefined });
      expect((error as RunpodError).hint).toContain(url);
      expect((error as RunpodError).hint).toContain("RUNPOD_API_BASE_URL");
    } finally {
      await offline.close();
    }
  });

  it("maps a timeout to UPSTREAM_TIMEOUT", async () => {
    const slow = createControlPlaneClient({ apiKey: KEY, apiBaseUrl: server.url, timeoutMs: 100 });
    try {
      server.handle(() => {});
      await expect(slow.listEndpoints()).rejects.toMatchObject({ code: "UPSTREAM_TIMEOUT", status: 504 });
    } finally {
      await slow.close();
    }
  });

  it("rejects a 200 with a body that is not an endpoint", async () => {
    server.handle((_req, res) => sendJson(res, 200, { nope: true }));
    await expect(client.getEndpoint("e1")).rejects.toMatchObject({ code: "UPSTREAM_ERROR", upstreamStatus: 200, status: 502 });
    server.handle((_req, res) => sendJson(res, 200, [endpoint("a")]));
    await expect(client.listEndpoints()).rejects.toMatchObject({ code: "UPSTREAM_ERROR" });
  });
});

describe("retries", () => {
  it("retries GET and DELETE on 5xx", async () => {
    let n = 0;
    server.handle((req, res) => {
      if (++n % 2 === 1) sendProblem(res, 503, "Unavailable", "try again");
      else if (req.method === "GET") sendJson(res, 200, endpoint("e1"));
      else {
        res.writeHead(204);
        res.end();
      }
    });
    await client.getEndpoint("e1");
    await client.deleteEndpoint("e1");
    expect(server.requests.map((r) => r.method)).toEqual(["GET", "GET", "DELETE", "DELETE"]);
  });

  it("never retries POST or PATCH", async () => {
    server.handle((_req, res) => sendProblem(res, 503, "Unavailable", "try again"));
    await expect(client.createEndpoint(CREATE)).rejects.toMatchObject({ code: "UPSTREAM_ERROR", status: 503 });
    await expect(client.updateEndpoint("e1", { name: "n" })).rejects.toMatchObject({ code: "UPSTREAM_ERROR", status: 503 });
    expect(server.requests.map((r) => r.method)).toEqual(["POST", "PATCH"]);
  });

  it("never retries a POST whose connection dropped", async () => {
    server.handle((_req, res) => void res.socket?.destroy());
    await expect(client.createEndpoint(CREATE)).rejects.toMatchObject({ code: "UPSTREAM_ERROR", upstreamStatus: undefined });
    expect(server.requests).toHaveLength(1);
  });
});

describe("createControlPlaneClient", () => {
  it("validates the base URL at creation", () => {
    expect(() => createControlPlaneClient({ apiKey: KEY, apiBaseUrl: "nope" })).toThrow(/RUNPOD_API_BASE_URL/);
  });
});
