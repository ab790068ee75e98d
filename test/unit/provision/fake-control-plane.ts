/** An in-memory control plane recording every call (a fake for the provisioning unit tests). */
import { AppError } from "../../../src/common/errors.js";
import type { ControlPlane } from "../../../src/provision/provisioner.js";
import type { CreateEndpointRequest, Endpoint, UpdateEndpointRequest } from "../../../src/runpod/wire-types.js";

export interface FakeControlPlane extends ControlPlane {
  endpoints: Map<string, Endpoint>;
  calls: string[];
  /** Makes the next create wait for this promise (to test concurrent first calls). */
  createGate?: Promise<void>;
}

export function createFakeControlPlane(): FakeControlPlane {
  const endpoints = new Map<string, Endpoint>();
  const calls: string[] = [];
  let seq = 0;
  const fake: FakeControlPlane = {
    endpoints,
    calls,
    async createEndpoint(body: CreateEndpointRequest) {
      calls.push(`create ${body.name}`);
      if (fake.createGate) await fake.createGate;
      const id = `ep${String(++seq).padStart(12, "0")}`;
      const endpoint: Endpoint = {
        ...body,
        id,
        workers: { min: body.workers?.min ?? 0, max: body.workers?.max ?? 3, idleTimeout: body.workers?.idleTimeout ?? 10 },
        dataCenterIds: body.dataCenterIds ?? [],
        networkVolumes: body.networkVolumes ?? [],
        timeout: body.timeout ?? 300000,
        flashboot: body.flashboot ?? "OFF",
        createdAt: new Date().toISOString(),
      };
      endpoints.set(id, endpoint);
      return endpoint;
    },
    async listEndpoints() {
      calls.push("list");
      return [...endpoints.values()];
    },
    async getEndpoint(id: string) {
      calls.push(`get ${id}`);
      const e = endpoints.get(id);
      if (!e) throw new AppError("NOT_FOUND", `endpoint ${id} not found`);
      return e;
    },
    async updateEndpoint(id: string, patch: UpdateEndpointRequest) {
      calls.push(`update ${id}`);
      const e = endpoints.get(id);
      if (!e) throw new AppError("NOT_FOUND", `endpoint ${id} not found`);
      const next = { ...e, ...patch } as Endpoint;
      endpoints.set(id, next);
      return next;
    },
    async deleteEndpoint(id: string) {
      calls.push(`delete ${id}`);
      endpoints.delete(id);
    },
  };
  return fake;
}
