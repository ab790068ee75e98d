import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EndpointStore } from "../../../src/emulator/endpoint-store.js";
import { validateCreateEndpoint, validateUpdateEndpoint } from "../../../src/emulator/endpoint-validation.js";
import { HttpError } from "../../../src/emulator/http-error.js";
import { STATE_FILE_NAME } from "../../../src/emulator/state-file.js";
import { createMemoryLogger } from "../../../src/common/logger.js";

const valid = {
  name: "live-gpu-worker",
  type: "QUEUE",
  scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
  image: "node:24",
  gpu: { pools: ["ADA_24"] },
};

function rejects(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("expected an HttpError");
}

describe("validateCreateEndpoint", () => {
  it("accepts a minimal body", () => {
    expect(validateCreateEndpoint(valid)).toMatchObject({ name: "live-gpu-worker" });
  });

  it("requires name, type and scaling (422 with one message per field)", () => {
    const error = rejects(() => validateCreateEndpoint({ image: "x", cpu: [{ id: "cpu3c", vcpuCount: 2 }] }));
    expect(error.status).toBe(422);
    expect(error.errors).toEqual(expect.arrayContaining(["$.name: expected string", "$.type: is required", expect.stringMatching(/^\$\.scaling/)]));
  });

  it("rejects unknown fields and wrong types", () => {
    const error = rejects(() => validateCreateEndpoint({ ...valid, bogus: 1, workers: { min: "1" } }));
    expect(error.errors).toEqual(expect.arrayContaining(["$: additional properties 'bogus' not allowed", "$.workers.min: expected integer"]));
  });

  it("requires REQUEST_COUNT scaling for load-balanced endpoints", () => {
    expect(rejects(() => validateCreateEndpoint({ ...valid, type: "LOAD_BALANCER" })).errors).toEqual(["$.scaling.type: LOAD_BALANCER endpoints must use REQUEST_COUNT"]);
    expect(validateCreateEndpoint({ ...valid, type: "LOAD_BALANCER", scaling: { type: "REQUEST_COUNT", requestCount: 1 } })).toBeTruthy();
  });

  it("wants exactly one of gpu and cpu, and min <= max (400)", () => {
    const { gpu: _gpu, ...noCompute } = valid;
    expect(rejects(() => validateCreateEndpoint(noCompute)).status).toBe(400);
    expect(rejects(() => validateCreateEndpoint({ ...valid, cpu: [{ id: "cpu3c", vcpuCount: 2 }] })).status).toBe(400);
    expect(rejects(() => validateCreateEndpoint({ ...valid, workers: { min: 4 } })).message).toMatch(/workers.min \(4\) must not exceed workers.max \(3\)/);
  });

  it("requires image unless templateId is given", () => {
    const { image: _image, ...noImage } = valid;
    expect(rejects(() => validateCreateEndpoint(noImage)).errors).toEqual(["$.image: is required unless templateId is set"]);
    expect(validateCreateEndpoint({ ...noImage, templateId: "30zmvf89kd" })).toBeTruthy();
  });
});

describe("validateUpdateEndpoint", () => {
  const current = { type: "QUEUE", scaling: { type: "QUEUE_DELAY" as const, queueDelay: 4 }, workers: { min: 0, max: 3 }, hasGpu: true };

  it("accepts partial bodies and rejects type changes and compute family switches", () => {
    expect(validateUpdateEndpoint({ workers: { max: 5 } }, current)).toEqual({ workers: { max: 5 } });
    expect(rejects(() => validateUpdateEndpoint({ type: "LOAD_BALANCER" }, current)).status).toBe(422);
    expect(rejects(() => validateUpdateEndpoint({ cpu: [{ id: "cpu3c", vcpuCount: 2 }] }, current)).status).toBe(400);
    expect(rejects(() => validateUpdateEndpoint({ workers: { min: 5 } }, current)).status).toBe(400);
  });
});

describe("EndpointStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "emu-store-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates endpoints with Runpod-like ids and the spec's defaults", () => {
    const store = new EndpointStore({ logger: createMemoryLogger() });
    const { endpoint } = store.create(validateCreateEndpoint(valid));
    expect(endpoint.id).toMatch(/^[a-z0-9]{14}$/);
    expect(endpoint).toMatchObject({
      args: "",
      env: {},
      workers: { min: 0, max: 3, idleTimeout: 10 },
      timeout: 300_000,
      flashboot: "OFF",
      dataCenterIds: [],
      networkVolumes: [],
      gpu: { pools: ["ADA_24"], count: 1, allowedCudaVersions: [], minCudaVersion: null },
    });
  });

  it("patches only the given fields and bumps the version on container changes", () => {
    const store = new EndpointStore({ logger: createMemoryLogger() });
    const { endpoint } = store.create(validateCreateEndpoint({ ...valid, env: { A: "1" }, workers: { min: 0, max: 2, idleTimeout: 5 } }));
    const scaled = store.update(endpoint.id, { workers: { max: 4 } })!;
    expect(scaled.containerChanged).toBe(false);
    expect(scaled.record.endpoint.workers).toEqual({ min: 0, max: 4, idleTimeout: 5 });
    expect(scaled.record.endpoint.env).toEqual({ A: "1" });
    const changed = store.update(endpoint.id, { env: { B: "2" } })!;
    expect(changed.containerChanged).toBe(true);
    expect(changed.record.version).toBe(2);
    expect(changed.record.endpoint.env).toEqual({ B: "2" });
  });

  it("persists endpoints atomically so ids survive a restart", async () => {
    const first = new EndpointStore({ stateDir: dir, logger: createMemoryLogger() });
    const { endpoint } = first.create(validateCreateEndpoint(valid));
    await first.flush();
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const second = new EndpointStore({ stateDir: dir, logger: createMemoryLogger() });
    await second.load();
    expect(second.get(endpoint.id)?.endpoint).toEqual(endpoint);
    second.delete(endpoint.id);
    await second.flush();
    const third = new EndpointStore({ stateDir: dir, logger: createMemoryLogger() });
    await third.load();
    expect(third.list()).toEqual([]);
  });

  it("reports a bad state file, moves it aside and starts empty", async () => {
    await writeFile(join(dir, STATE_FILE_NAME), "{ not json");
    const logger = createMemoryLogger();
    const store = new EndpointStore({ stateDir: dir, logger });
    await store.load();
    expect(store.list()).toEqual([]);
    expect(logger.lines.join("\n")).toMatch(/not valid JSON.*moved it to/);
    const files = await readdir(dir);
    expect(files.some((f) => f.startsWith(`${STATE_FILE_NAME}.bad-`))).toBe(true);
    store.create(validateCreateEndpoint(valid));
    await store.flush();
    expect(JSON.parse(await readFile(join(dir, STATE_FILE_NAME), "utf8"))).toMatchObject({ format: "flash-ts-emulator-state" });
  });
});
