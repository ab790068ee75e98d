import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RunpodError } from "../../../src/runpod/errors.js";
import { createLoadBalancerClient, loadBalancerBaseUrl } from "../../../src/runpod/load-balancer-client.js";
import type { LoadBalancerClient } from "../../../src/runpod/load-balancer-client.js";
import { refusedUrl, sendJson, startFakeServer } from "./fake-server.js";
import type { FakeServer } from "./fake-server.js";

const KEY = "rpa_LBKEY12345678";

describe("loadBalancerBaseUrl", () => {
  it.each([
    ["http://127.0.0.1:8765/v2", "http://127.0.0.1:8765/lb/abc123"],
    ["http://localhost:8765/v2/", "http://localhost:8765/lb/abc123"],
    // An emulator reached by address (a container worker calling through the Docker network's gateway): no name to prefix.
    ["http://172.19.0.1:8765/v2", "http://172.19.0.1:8765/lb/abc123"],
    ["http://[fd00::1]:8765/v2", "http://[fd00::1]:8765/lb/abc123"],
    ["http://[::1]:8765/v2", "http://[::1]:8765/lb/abc123"],
    ["https://127.0.0.2/v2", "https://127.0.0.2/lb/abc123"],
  ])("uses the emulator's path form for loopback base %s", (base, expected) => {
    expect(loadBalancerBaseUrl("abc123", base)).toBe(expected);
  });

  it.each([
    ["https://api.runpod.ai/v2", "https://abc123.api.runpod.ai"],
    ["https://dev-api.runpod.ai/v2", "https://abc123.dev-api.runpod.ai"],
    ["http://emulator.internal:8080/v2", "https://abc123.emulator.internal:8080"],
  ])("uses https://{id}.{host} for remote base %s", (base, expected) => {
    expect(loadBalancerBaseUrl("abc123", base)).toBe(expected);
  });

  it("rejects ids that cannot be a host label or path segment", () => {
    expect(() => loadBalancerBaseUrl("a/b", "https://api.runpod.ai/v2")).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }) as Error);
    expect(() => loadBalancerBaseUrl("", "https://api.runpod.ai/v2")).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }) as Error);
  });
});

let server: FakeServer;
let lb: LoadBalancerClient;

beforeEach(async () => {
  server = await startFakeServer();
  lb = createLoadBalancerClient({ apiKey: KEY, endpointBaseUrl: `${server.url}/v2` });
});

afterEach(async () => {
  await lb.close();
  await server.close();
});

describe("createLoadBalancerClient", () => {
  it("sends JSON to {base}/lb/{id}/{path} with Bearer auth and the caller's headers", async () => {
    server.handle((req, res) => sendJson(res, 200, { got: req.json }, { "x-runpod-worker-id": "w1" }));
    const response = await lb.request("ep1", { method: "POST", path: "/execute", json: { flash: 1 }, headers: { "x-trace": "t1" } });
    expect(response).toMatchObject({ status: 200, body: { got: { flash: 1 } } });
    expect(response.headers["x-runpod-worker-id"]).toBe("w1");
    const [req] = server.requests;
    expect(req).toMatchObject({ method: "POST", url: "/lb/ep1/execute" });
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.headers["x-trace"]).toBe("t1");
    expect(lb.baseUrlOf("ep1")).toBe(`${server.url}/lb/ep1`);
  });

  it("accepts a full base URL and a path without a leading slash", async () => {
    await lb.request(`${server.url}/custom/`, { method: "GET", path: "ping" });
    expect(server.requests[0]?.url).toBe("/custom/ping");
  });

  it("returns non-2xx answers for the caller to interpret", async () => {
    server.handle((req, res) => (req.path.endsWith("/missing") ? sendJson(res, 404, { detail: "Not Found" }) : sendJson(res, 502, { error: "no workers available" })));
    expect(await lb.request("ep1", { method: "GET", path: "/missing" })).toMatchObject({ status: 404, body: { detail: "Not Found" } });
    expect(await lb.request("ep1", { method: "POST", path: "/execute", json: {} })).toMatchObject({ status: 502, body: { error: "no workers available" } });
    // and does not retry them
    expect(server.requests).toHaveLength(2);
  });

  it.each([401, 403])("throws UNAUTHORIZED on %i", async (status) => {
    server.handle((_req, res) => sendJson(res, status, { error: "bad key" }));
    const error = await lb.request("ep1", { method: "POST", path: "/execute", json: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunpodError);
    expect(error).toMatchObject({ code: "UNAUTHORIZED", status, upstreamStatus: status, body: { error: "bad key" } });
  });

  it("maps a refused connection to WORKER_UNREACHABLE (502)", async () => {
    const url = await refusedUrl();
    const offline = createLoadBalancerClient({ apiKey: KEY, endpointBaseUrl: `${url}/v2` });
    try {
      const error = await offline.request("ep1", { method: "POST", path: "/execute", json: {} }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "WORKER_UNREACHABLE", status: 502, upstreamStatus: undefined });
    } finally {
      await offline.close();
    }
  });

  it("maps a timeout to UPSTREAM_TIMEOUT (504)", async () => {
    server.handle(() => {});
    await expect(lb.request("ep1", { method: "POST", path: "/execute", json: {}, timeoutMs: 100 })).rejects.toMatchObject({ code: "UPSTREAM_TIMEOUT", status: 504 });
  });

  it("omits the Authorization header without a key", async () => {
    const anonymous = createLoadBalancerClient({ apiKey: undefined, endpointBaseUrl: `${server.url}/v2` });
    try {
      await anonymous.request("ep1", { method: "GET", path: "/ping" });
      expect(server.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await anonymous.close();
    }
  });
});
