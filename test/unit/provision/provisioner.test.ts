import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProvisioner } from "../../../src/provision/provisioner.js";
import { createResourceCache } from "../../../src/provision/resource-cache.js";
import { resolveWorkerRuntime, toCreateEndpointRequest, PROJECT_MARKER_ENV } from "../../../src/provision/endpoint-request.js";
import { loadProjectId } from "../../../src/provision/project-id.js";
import { CpuLiveLoadBalancer, LiveServerless, GpuGroup, GpuType } from "../../../src/sdk/index.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { createFakeControlPlane } from "./fake-control-plane.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-provision-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function setup(projectId = "project-aaaa-1111") {
  const controlPlane = createFakeControlPlane();
  const logger = createMemoryLogger();
  const runtime = resolveWorkerRuntime({}, "1.2.3", projectId);
  const make = () => createProvisioner({ controlPlane, cache: createResourceCache(dir, logger), backend: "local", runtime, logger });
  return { controlPlane, logger, runtime, make };
}

const gpu = new LiveServerless({ name: "gpu-worker", gpus: [GpuGroup.ADA_24], workersMax: 3 }).toSpec();

describe("toCreateEndpointRequest", () => {
  it("maps a GPU QB spec to REST v2", () => {
    const body = toCreateEndpointRequest(gpu, resolveWorkerRuntime({}, "1.2.3", "p1"));
    expect(body).toMatchObject({
      name: "live-gpu-worker",
      type: "QUEUE",
      scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
      image: "node:24-bookworm-slim",
      args: expect.stringMatching(/^node -e '/) as string,
      workers: { min: 0, max: 3, idleTimeout: 60 },
      gpu: { pools: ["ADA_24"], count: 1 },
    });
    expect(body.env?.[PROJECT_MARKER_ENV]).toBe("p1");
    expect(body.timeout).toBeUndefined();
  });

  it("maps a CPU LB spec and GPU types to pools with exclusions", () => {
    const lb = new CpuLiveLoadBalancer({ name: "lb", workersMin: 1, executionTimeoutMs: 5000 }).toSpec();
    const body = toCreateEndpointRequest(lb, resolveWorkerRuntime({}, "1.0.0", "p1"));
    expect(body).toMatchObject({ type: "LOAD_BALANCER", scaling: { type: "REQUEST_COUNT", requestCount: 4 }, cpu: [{ id: "cpu3g", vcpuCount: 2 }], timeout: 5000 });
    const typed = new LiveServerless({ name: "t", gpus: [GpuType.NVIDIA_L4, GpuType.NVIDIA_GEFORCE_RTX_4090] }).toSpec();
    expect(toCreateEndpointRequest(typed, resolveWorkerRuntime({}, "1", "p")).gpu).toEqual({
      pools: ["ADA_24", "AMPERE_24"],
      excludedTypes: ["NVIDIA GeForce RTX 3090", "NVIDIA RTX A5000"],
      count: 1,
    });
  });

  it("honours FLASH_GPU_IMAGE and hashes the same config the same way", () => {
    const a = resolveWorkerRuntime({ FLASH_GPU_IMAGE: "my/gpu:1" }, "1", "p");
    expect(toCreateEndpointRequest(gpu, a).image).toBe("my/gpu:1");
    const again = new LiveServerless({ workersMax: 3, gpus: [GpuGroup.ADA_24], name: "gpu-worker" }).toSpec();
    expect(toCreateEndpointRequest(again, a)).toEqual(toCreateEndpointRequest(gpu, a));
  });
});

describe("provisioner", () => {
  it("creates once for concurrent first calls, then reuses without writes", async () => {
    const { controlPlane, make } = setup();
    let open!: () => void;
    controlPlane.createGate = new Promise<void>((r) => (open = r));
    const p = make();
    const calls = Promise.all([p.ensureEndpoint(gpu), p.ensureEndpoint(gpu), p.ensureEndpoint(gpu)]);
    open();
    const results = await calls;
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(controlPlane.calls.filter((c) => c.startsWith("create"))).toHaveLength(1);
    await p.ensureEndpoint(gpu);
    expect(controlPlane.calls.filter((c) => c.startsWith("create"))).toHaveLength(1);
  });

  it("a restart with unchanged code makes no control-plane writes", async () => {
    const { controlPlane, make } = setup();
    const first = await make().ensureEndpoint(gpu);
    controlPlane.calls.length = 0;
    const second = await make().ensureEndpoint(gpu);
    expect(second.id).toBe(first.id);
    expect(controlPlane.calls.filter((c) => !c.startsWith("get"))).toEqual([]);
  });

  it("updates in place when the config changes", async () => {
    const { controlPlane, make } = setup();
    const first = await make().ensureEndpoint(gpu);
    const changed = new LiveServerless({ name: "gpu-worker", gpus: [GpuGroup.ADA_24], workersMax: 5 }).toSpec();
    const second = await make().ensureEndpoint(changed);
    expect(second.id).toBe(first.id);
    expect(controlPlane.calls).toContain(`update ${first.id}`);
    expect(controlPlane.endpoints.get(first.id)?.workers.max).toBe(5);
  });

  it("recreates an endpoint deleted behind its back", async () => {
    const { controlPlane, make } = setup();
    const first = await make().ensureEndpoint(gpu);
    controlPlane.endpoints.delete(first.id);
    const second = await make().ensureEndpoint(gpu);
    expect(second.id).not.toBe(first.id);
  });

  it("recovers a lost or corrupt cache from the provider list, only for its own project", async () => {
    const { controlPlane, make } = setup();
    const first = await make().ensureEndpoint(gpu);
    await writeFile(join(dir, "resources.json"), "{ not json");
    controlPlane.calls.length = 0;
    const again = await make().ensureEndpoint(gpu);
    expect(again.id).toBe(first.id);
    expect(controlPlane.calls.some((c) => c.startsWith("create"))).toBe(false);

    // Another project with the same endpoint name does not adopt it.
    await rm(join(dir, "resources.json"));
    const other = createProvisioner({
      controlPlane,
      cache: createResourceCache(dir),
      backend: "local",
      runtime: resolveWorkerRuntime({}, "1.2.3", "another-project-2222"),
      logger: createMemoryLogger(),
    });
    expect((await other.ensureEndpoint(gpu)).id).not.toBe(first.id);
  });

  it("finds and deletes orphans", async () => {
    const { make, controlPlane } = setup();
    const p = make();
    await p.ensureEndpoint(gpu);
    const lb = new CpuLiveLoadBalancer({ name: "lb" }).toSpec();
    const lbEndpoint = await p.ensureEndpoint(lb);
    const orphans = await p.findOrphans([gpu]);
    expect(orphans.map((o) => o.name)).toEqual(["live-lb"]);
    const result = await p.deleteEndpoints(orphans);
    expect(result.deleted).toEqual(["live-lb"]);
    expect(controlPlane.endpoints.has(lbEndpoint.id)).toBe(false);
    expect((await p.cachedEndpoints()).map((e) => e.name)).toEqual(["live-gpu-worker"]);
  });

  it("wraps failures as PROVISION_FAILED and lets the next call retry", async () => {
    const { controlPlane, make } = setup();
    const original = controlPlane.createEndpoint;
    controlPlane.createEndpoint = async () => {
      throw new Error("boom");
    };
    const p = make();
    await expect(p.ensureEndpoint(gpu)).rejects.toMatchObject({ code: "PROVISION_FAILED", status: 503 });
    controlPlane.createEndpoint = original;
    await expect(p.ensureEndpoint(gpu)).resolves.toMatchObject({ name: "live-gpu-worker" });
  });

  it("keeps one project id per state folder", async () => {
    const a = await loadProjectId(dir);
    expect(await loadProjectId(dir)).toBe(a);
  });
});
