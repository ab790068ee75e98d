/**
 * What a live endpoint runs: the bootstrap start command on the config's
 * image (or the per-compute default), with the environment the worker needs
 * to name its image and install systemDependencies; and endpoints created
 * with the old `npx … flash-ts … worker` start command move to the new one
 * by an in-place update, never a second endpoint.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as v from "valibot";
import { CpuLiveLoadBalancer, CpuLiveServerless, LiveLoadBalancer, LiveServerless } from "../../../src/sdk/index.js";
import { CreateEndpointRequestSchema, UpdateEndpointRequestSchema } from "../../../src/runpod/wire-schemas.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { CONFIG_HASH_ENV, endpointConfigHash, resolveWorkerRuntime, toCreateEndpointRequest, toUpdateEndpointRequest } from "../../../src/provision/endpoint-request.js";
import { createProvisioner } from "../../../src/provision/provisioner.js";
import { createResourceCache } from "../../../src/provision/resource-cache.js";
import { bootstrapStartCommand } from "../../../src/worker/bootstrap/start-command.js";
import { createFakeControlPlane } from "./fake-control-plane.js";

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "flash-endpoint-request-"))));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("the endpoint a config becomes", () => {
  it("runs the bootstrap with the image's node; FLASH_WORKER_COMMAND still overrides it", () => {
    const spec = new CpuLiveServerless({ name: "c" }).toSpec();
    const body = toCreateEndpointRequest(spec, resolveWorkerRuntime({}, "1.2.3", "p"));
    expect(body.args).toBe(bootstrapStartCommand());
    expect(body.args).toMatch(/^node -e '[^']+'$/);
    expect(body.image).toBe("node:24-bookworm-slim");
    expect(toCreateEndpointRequest(spec, resolveWorkerRuntime({ FLASH_WORKER_COMMAND: "flash worker" }, "1.2.3", "p")).args).toBe("flash worker");
  });

  it("takes the config's image before FLASH_GPU_IMAGE, and tells the worker its image and system packages", () => {
    const runtime = resolveWorkerRuntime({ FLASH_GPU_IMAGE: "env/gpu:1", FLASH_CPU_IMAGE: "env/cpu:1" }, "1", "p");
    const own = toCreateEndpointRequest(new LiveServerless({ name: "g", image: "acme/cuda-node:12", systemDependencies: ["libgl1", "ffmpeg"] }).toSpec(), runtime);
    expect(own.image).toBe("acme/cuda-node:12");
    expect(own.env).toMatchObject({ FLASH_WORKER_IMAGE: "acme/cuda-node:12", FLASH_SYSTEM_DEPENDENCIES: "ffmpeg libgl1" });
    const byEnv = toCreateEndpointRequest(new CpuLiveServerless({ name: "c" }).toSpec(), runtime);
    expect(byEnv.image).toBe("env/cpu:1");
    expect(byEnv.env?.FLASH_SYSTEM_DEPENDENCIES).toBeUndefined();
    // Changing the image or the packages is a config change.
    const base = new LiveServerless({ name: "g" }).toSpec();
    expect(endpointConfigHash({ ...base, image: "a:1" }, runtime)).not.toBe(endpointConfigHash({ ...base, image: "a:2" }, runtime));
    expect(endpointConfigHash({ ...base, systemDependencies: ["ffmpeg"] }, runtime)).not.toBe(endpointConfigHash(base, runtime));
  });

  it("moves an endpoint created with the old npx start command to the bootstrap by an update in place", async () => {
    const controlPlane = createFakeControlPlane();
    const logger = createMemoryLogger();
    const spec = new CpuLiveServerless({ name: "legacy" }).toSpec();
    // As created by a flash-ts whose start command was `npx -y flash-ts@<version> worker`.
    const old = resolveWorkerRuntime({ FLASH_WORKER_COMMAND: "npx -y flash-ts@0.1.0 worker" }, "0.1.0", "project-1");
    const created = await controlPlane.createEndpoint(toCreateEndpointRequest(spec, old));
    await createResourceCache(dir, logger).put({
      name: spec.endpointName,
      id: created.id,
      kind: "QB",
      backend: "runpod",
      configHash: endpointConfigHash(spec, old),
      createdAt: created.createdAt ?? new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      projectId: "project-1",
      workersMin: 0,
    });
    const runtime = resolveWorkerRuntime({}, "0.2.0", "project-1");
    const provisioner = createProvisioner({ controlPlane, cache: createResourceCache(dir, logger), backend: "runpod", runtime, logger });
    expect((await provisioner.ensureEndpoint(spec)).id).toBe(created.id);
    expect(controlPlane.calls.filter((c) => c.startsWith("create"))).toEqual([`create ${spec.endpointName}`]);
    expect(controlPlane.calls).toContain(`update ${created.id}`);
    const updated = controlPlane.endpoints.get(created.id);
    expect(updated?.args).toBe(bootstrapStartCommand());
    expect(updated?.env?.[CONFIG_HASH_ENV]).toBe(endpointConfigHash(spec, runtime));

    // The same after a lost cache: found by project marker on the provider, updated, not duplicated.
    await mkdir(join(dir, "other"));
    const fresh = createFakeControlPlane();
    const again = await fresh.createEndpoint(toCreateEndpointRequest(spec, old));
    const lost = createProvisioner({ controlPlane: fresh, cache: createResourceCache(join(dir, "other"), logger), backend: "runpod", runtime, logger });
    expect((await lost.ensureEndpoint(spec)).id).toBe(again.id);
    expect(fresh.calls.filter((c) => c.startsWith("create"))).toHaveLength(1);
    expect(fresh.endpoints.get(again.id)?.args).toBe(bootstrapStartCommand());
  });
});

describe("the bodies the provisioner sends", () => {
  const runtime = resolveWorkerRuntime({}, "1.2.3", "p");
  const specs = [
    new LiveServerless({ name: "g", workersMax: 4, executionTimeoutMs: 60_000, minCudaVersion: "12.4" }).toSpec(),
    new CpuLiveServerless({ name: "c", systemDependencies: ["ffmpeg"] }).toSpec(),
    new LiveLoadBalancer({ name: "lb" }).toSpec(),
    new CpuLiveLoadBalancer({ name: "clb" }).toSpec(),
  ];

  it.each(specs.map((spec) => [spec.name, spec] as const))("%s: pass the schemas the emulator validates them with (runpod/wire-schemas.ts)", (_name, spec) => {
    expect(v.safeParse(CreateEndpointRequestSchema, toCreateEndpointRequest(spec, runtime)).issues).toBeUndefined();
    expect(v.safeParse(UpdateEndpointRequestSchema, toUpdateEndpointRequest(spec, runtime)).issues).toBeUndefined();
  });
});
