/**
 * Endpoint as a definition (Python Flash's `Endpoint` API): queue-based
 * functions and classes, load-balanced routes, the options mapped onto the
 * same resource configs and remote metadata as remote(), and every mistake
 * named at construction.
 */
import { describe, expect, it } from "vitest";
import { CpuInstanceType, Endpoint, GpuGroup, GpuType, remote, LiveServerless } from "../../../src/sdk/index.js";
import { getRegistry, getRemoteMeta, setDispatcher } from "../../../src/sdk/registry.js";
import type { RemoteCall, RemoteClassMeta, RemoteFunctionMeta } from "../../../src/sdk/registry.js";

function fnMeta(value: unknown): RemoteFunctionMeta {
  const meta = getRemoteMeta(value);
  if (meta?.kind !== "function") throw new Error("not a remote function");
  return meta;
}

function codeOf(make: () => unknown): string | undefined {
  try {
    make();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe("Endpoint: queue-based functions", () => {
  it("maps Python's parameters onto the resource config remote() uses", () => {
    const ep = new Endpoint({
      name: "hello",
      gpu: [GpuGroup.ADA_24, GpuType.NVIDIA_L4],
      gpuCount: 2,
      workers: [1, 3],
      idleTimeout: 30,
      executionTimeoutMs: 120_000,
      env: { MODE: "fast" },
      volume: "vol_123",
      datacenter: "EU-RO-1",
      scalerValue: 2,
      flashboot: false,
      minCudaVersion: "12.8",
      containerDiskGb: 30,
      dependencies: ["sharp@0.34", "lodash"],
    });
    const hello = ep.fn(async (input: { n: number }) => input.n + 1);
    const meta = fnMeta(hello);
    expect(meta.config).toBeInstanceOf(LiveServerless);
    expect(meta.options).toEqual({ dependencies: ["lodash", "sharp@0.34"] });
    expect(meta.config.toSpec()).toEqual({
      name: "hello",
      endpointName: "live-hello",
      kind: "QB",
      compute: "GPU",
      className: "LiveServerless",
      workersMin: 1,
      workersMax: 3,
      idleTimeout: 30,
      executionTimeoutMs: 120_000,
      env: { MODE: "fast" },
      scalerType: "QUEUE_DELAY",
      scalerValue: 2,
      flashboot: "OFF",
      containerDiskGb: 30,
      networkVolumeId: "vol_123",
      datacenter: "EU-RO-1",
      gpus: ["ADA_24", "NVIDIA L4"],
      gpuCount: 2,
      minCudaVersion: "12.8",
    });
  });

  it("is the same config as the equivalent remote() call (same hash, so the same endpoint)", () => {
    const viaEndpoint = new Endpoint({ name: "same", gpu: GpuGroup.ADA_24, workers: 3 }).fn(async () => 1);
    const viaRemote = remote(new LiveServerless({ name: "same", gpus: [GpuGroup.ADA_24], workersMax: 3 }), async () => 1);
    expect(fnMeta(viaEndpoint).config.configHash).toBe(fnMeta(viaRemote).config.configHash);
  });

  it("defaults like Python: any GPU, workers (0, 1); a number n means (0, n); cpu picks a CPU config", () => {
    expect(fnMeta(new Endpoint({ name: "d" }).fn(async () => 1)).config.toSpec()).toMatchObject({ compute: "GPU", gpus: ["ANY"], workersMin: 0, workersMax: 1 });
    const cpu = fnMeta(new Endpoint({ name: "c", cpu: "cpu3c-2-4", workers: 4 }).fn(async () => 1)).config.toSpec();
    expect(cpu).toMatchObject({ compute: "CPU", className: "CpuLiveServerless", instanceIds: ["cpu3c-2-4"], workersMin: 0, workersMax: 4 });
    expect(cpu).not.toHaveProperty("gpus");
  });

  it("passes image and systemDependencies through to the config as fields of those names", () => {
    const ep = new Endpoint({ name: "img", cpu: CpuInstanceType.CPU3G_2_8, image: "node:24-bookworm-slim", systemDependencies: ["ffmpeg"] });
    expect(ep.configOptions()).toMatchObject({ image: "node:24-bookworm-slim", systemDependencies: ["ffmpeg"] });
  });

  it("Endpoint.fn(options, fn) is the one-expression form; the name defaults to the function's", () => {
    const named = Endpoint.fn({ gpu: GpuGroup.AMPERE_24 }, async function resize(input: { w: number }) {
      return input.w;
    });
    expect(fnMeta(named).config.toSpec()).toMatchObject({ name: "resize", gpus: ["AMPERE_24"] });
    expect(() => Endpoint.fn({ gpu: GpuGroup.ANY }, (async () => 1) as () => Promise<number>)).toThrow(/name or id is required/);
  });

  // Vitest's transform has no decorator syntax; bundles (esbuild) do, and the flash dev test serves one.
  // Here the decorators are called as the syntax calls them: (class, context), `fn` without its object.
  it("decorates classes: @ep.fn and @Endpoint.fn(options) expose the public async methods", () => {
    const ep = new Endpoint({ name: "model", gpu: GpuGroup.AMPERE_80 });
    class Model {
      async predict(text: string) {
        return text.length;
      }
    }
    class Embedder {
      async embed(text: string) {
        return [text.length];
      }
      async _private() {
        return 0;
      }
    }
    const decorate = ep.fn;
    const RemoteModel = decorate(Model, { kind: "class", name: "Model" } as ClassDecoratorContext<typeof Model>);
    const RemoteEmbedder = Endpoint.fn({ cpu: "cpu3g-4-16" })(Embedder, { kind: "class", name: "Embedder" } as ClassDecoratorContext<typeof Embedder>);
    const model = getRemoteMeta(RemoteModel) as RemoteClassMeta;
    expect(model).toMatchObject({ kind: "class", methods: ["predict"] });
    expect(model.config.toSpec()).toMatchObject({ name: "model", kind: "QB", compute: "GPU" });
    const embedder = getRemoteMeta(RemoteEmbedder) as RemoteClassMeta;
    expect(embedder).toMatchObject({ kind: "class", methods: ["embed"] });
    expect(embedder.config.toSpec()).toMatchObject({ name: "Embedder", compute: "CPU", instanceIds: ["cpu3g-4-16"] });
  });

  it("dispatches like remote(): identity comes from the tagged bundle, the call goes to the dispatcher", async () => {
    const double = new Endpoint({ name: "calc" }).fn(async (n: number) => n * 2);
    getRegistry().tagModule({ double }, "calc.ts", "file:///endpoint-bundle.mjs");
    const calls: RemoteCall[] = [];
    const restore = setDispatcher({ call: async (c) => (calls.push(c), 84) });
    try {
      expect(await double(42)).toBe(84);
    } finally {
      restore();
    }
    expect(calls[0]).toMatchObject({ identity: { file: "calc.ts", export: "double" }, args: [42] });
    expect(calls[0]!.meta).toBe(getRemoteMeta(double));
  });
});

describe("Endpoint: load-balanced routes", () => {
  it("api.get/post/put/patch/delete(path, fn) make LB functions on one shared config", () => {
    const api = new Endpoint({ name: "api", cpu: CpuInstanceType.CPU3C_2_4, workers: [1, 2], dependencies: ["zod"] });
    const routes = {
      list: api.get("/items", async () => []),
      create: api.post("/items", async (body: { name: string }) => body),
      replace: api.put("/items/{id}", async (body: { id: string }) => body),
      edit: api.patch("/items/:id", async (body: { id: string }) => body),
      remove: api.delete("/items/:id", async () => ({ deleted: true })),
    };
    const metas = Object.values(routes).map(fnMeta);
    expect(metas.map((m) => `${m.options.method} ${m.options.path}`)).toEqual(["GET /items", "POST /items", "PUT /items/:id", "PATCH /items/:id", "DELETE /items/:id"]);
    expect(new Set(metas.map((m) => m.config)).size).toBe(1);
    expect(metas[0]!.options.dependencies).toEqual(["zod"]);
    expect(metas[0]!.config.toSpec()).toMatchObject({ kind: "LB", compute: "CPU", className: "CpuLiveLoadBalancer", scalerType: "REQUEST_COUNT", workersMin: 1, workersMax: 2 });
    expect(api.isLoadBalanced).toBe(true);
  });

  it.each([
    ["a duplicate method and path", (api: Endpoint) => (api.post("/x", async () => 1), api.post("/x", async () => 2)), /POST \/x is already defined/],
    ["a reserved path", (api: Endpoint) => api.get("/ping", async () => 1), /reserved/],
    ["a path without a leading slash", (api: Endpoint) => api.get("items", async () => 1), /must start with "\/"/],
    ["a route after a queue-based function", (api: Endpoint) => (api.fn(async () => 1), api.get("/x", async () => 1)), /one pattern or the other/],
    ["a queue-based function after a route", (api: Endpoint) => (api.get("/x", async () => 1), api.fn(async () => 1)), /one pattern or the other/],
    ["QUEUE_DELAY scaling on routes", (_api: Endpoint) => new Endpoint({ name: "q", scalerType: "QUEUE_DELAY" }).get("/x", async () => 1), /REQUEST_COUNT/],
  ])("refuses %s", (_what, make, message) => {
    const api = new Endpoint({ name: "api" });
    expect(() => make(api)).toThrow(message);
    expect(codeOf(() => make(new Endpoint({ name: "api2" })))).toBe("INVALID_CONFIG");
  });
});

describe("Endpoint: mistakes are named at construction", () => {
  it.each([
    [{}, /^Endpoint: name or id is required/],
    [{ name: "x", gpu: GpuGroup.ANY, cpu: "cpu3c-2-4" }, /^Endpoint\("x"\): gpu and cpu are mutually exclusive/],
    [{ name: "x", workers: -1 }, /^Endpoint\("x"\): workers must be a number of workers or \[min, max\]/],
    [{ name: "x", workers: [3, 1] }, /^Endpoint\("x"\): workers: min \(3\) cannot be greater than max \(1\)/],
    [{ name: "x", workers: [0, 1, 2] }, /^Endpoint\("x"\): workers must be/],
    [{ name: "x", workers: "2" }, /^Endpoint\("x"\): workers must be/],
    [{ name: "x", idleTimeout: 0 }, /^Endpoint\("x"\): idleTimeout must be an integer from 1 to 3600/],
    [{ name: "x", gpu: "RTX 9999" }, /^Endpoint\("x"\): unknown GPU "RTX 9999"/],
    [{ name: "x", gpu: [] }, /^Endpoint\("x"\): gpu must be a GpuGroup, a GpuType or a non-empty list of them/],
    [{ name: "x", cpu: "cpu9z-2-4" }, /^Endpoint\("x"\): unknown CPU instance type "cpu9z-2-4"/],
    [{ name: "x", cpu: "cpu3c-2-4", gpuCount: 2 }, /^Endpoint\("x"\): gpuCount is for GPU endpoints/],
    [{ name: "x", env: { A: 1 } }, /^Endpoint\("x"\): env\.A must be a string/],
    [{ name: "x", volume: "" }, /^Endpoint\("x"\): volume must be a network volume id/],
    [{ name: "x", datacenter: "somewhere" }, /^Endpoint\("x"\): datacenter must look like "EU-RO-1"/],
    [{ name: "x", dependencies: ["not a spec!"] }, /^Endpoint\("x"\): dependency "not a spec!" is not an npm package spec/],
    [{ name: "x", idle_timeout: 5 }, /^Endpoint\("x"\): unknown option "idle_timeout"/],
    [{ name: "bad name!" }, /^Endpoint\("bad name!"\): name must be/],
    [{ id: "abc123", image: "x:1" }, /^Endpoint\(\{ id: "abc123" \}\): id and image are mutually exclusive/],
    [{ id: "abc123", gpu: GpuGroup.ANY, workers: 2 }, /^Endpoint\(\{ id: "abc123" \}\): gpu, workers configure an endpoint flash creates/],
    [{ id: "not an id!" }, /^Endpoint: id must be a Runpod endpoint id/],
  ])("%j", (options, message) => {
    expect(() => new Endpoint(options as never)).toThrow(message);
    expect(codeOf(() => new Endpoint(options as never))).toBe("INVALID_CONFIG");
  });

  it("hints the camelCase name of a Python parameter", () => {
    try {
      new Endpoint({ name: "x", execution_timeout_ms: 5 } as never);
      expect.unreachable();
    } catch (error) {
      expect((error as { hint?: string }).hint).toMatch(/executionTimeoutMs/);
    }
  });
});

describe("Endpoint: a client is not a definer, and a definer is not a client", () => {
  const client = new Endpoint({ id: "abc123" });
  const definer = new Endpoint({ name: "api" });

  it("a client used to define functions or routes is an INVALID_CONFIG error", () => {
    expect(client.isClient).toBe(true);
    expect(() => client.fn(async () => 1)).toThrow(/client of the existing endpoint abc123; it cannot define functions/);
    expect(() => client.post("/items", async () => 1)).toThrow(/client of the existing endpoint abc123; it cannot define routes/);
    expect(codeOf(() => client.get("/items", async () => 1))).toBe("INVALID_CONFIG");
  });

  it("a definer used to call an endpoint rejects with INVALID_CONFIG, saying how to make a client", async () => {
    expect(definer.isClient).toBe(false);
    await expect(definer.run({ a: 1 })).rejects.toMatchObject({ code: "INVALID_CONFIG", message: /Endpoint\("api"\) defines functions; it is not a client/, hint: /new Endpoint\(\{ id \}\)/ });
    await expect(definer.runsync({ a: 1 })).rejects.toMatchObject({ code: "INVALID_CONFIG" });
    await expect(definer.post("/items", { a: 1 })).rejects.toMatchObject({ code: "INVALID_CONFIG", message: /api\.post\(path, fn\) defines a route and needs the function/ });
    await expect(definer.get("/items")).rejects.toMatchObject({ code: "INVALID_CONFIG" });
  });
});
