import { describe, expect, it } from "vitest";
import {
  CpuLiveLoadBalancer,
  CpuLiveServerless,
  GpuGroup,
  LiveLoadBalancer,
  LiveServerless,
  remote,
} from "../../../src/sdk/index.js";
import { getRegistry, getRemoteMeta, setDispatcher } from "../../../src/sdk/registry.js";
import type { RemoteCall } from "../../../src/sdk/registry.js";

describe("resource configs", () => {
  it("have Flash's defaults", () => {
    const spec = new CpuLiveServerless({ name: "cpu" }).toSpec();
    expect(spec).toMatchObject({ endpointName: "live-cpu", kind: "QB", compute: "CPU", workersMin: 0, workersMax: 1, idleTimeout: 60, executionTimeoutMs: 0, scalerType: "QUEUE_DELAY", scalerValue: 4, instanceIds: ["cpu3g-2-8"] });
    expect(new LiveLoadBalancer({ name: "lb" }).toSpec()).toMatchObject({ kind: "LB", compute: "GPU", scalerType: "REQUEST_COUNT", gpus: ["ANY"], gpuCount: 1 });
  });

  it.each([
    [() => new LiveServerless({ name: "a", workersMin: 3, workersMax: 1 }), /workersMin \(3\) cannot be greater than workersMax \(1\)/],
    [() => new CpuLiveLoadBalancer({ name: "a", scalerType: "QUEUE_DELAY" }), /REQUEST_COUNT/],
    [() => new LiveServerless({ name: "a", gpus: ["RTX 9999"] }), /unknown GPU "RTX 9999"/],
    [() => new LiveServerless({ name: "bad name!" }), /name must be/],
    [() => new LiveServerless({ name: "live-x" }), /must not start with 'live-'/],
    [() => new LiveServerless({ name: "a", idleTimeout: 0 }), /idleTimeout must be an integer from 1 to 3600/],
    [() => new CpuLiveServerless({ name: "a", instanceIds: ["cpu9z-1-1"] }), /unknown CPU instance type/],
    [() => new LiveServerless({ name: "a", env: { "1BAD": "x" } }), /not a valid variable name/],
  ])("validates at construction (%#)", (make, message) => {
    expect(make).toThrow(message);
    try {
      make();
    } catch (error) {
      expect((error as { code: string }).code).toBe("INVALID_CONFIG");
    }
  });

  it("hashes the same config the same way regardless of field order", () => {
    const a = new LiveServerless({ name: "g", gpus: [GpuGroup.AMPERE_24, GpuGroup.ADA_24], workersMax: 2 });
    const b = new LiveServerless({ workersMax: 2, gpus: [GpuGroup.ADA_24, GpuGroup.AMPERE_24], name: "g" });
    expect(a.configHash).toBe(b.configHash);
  });
});

describe("remote()", () => {
  const qb = new LiveServerless({ name: "qb" });
  const lb = new CpuLiveLoadBalancer({ name: "lb" });

  it("validates options", () => {
    expect(() => remote(lb, async () => 1)).toThrow(/need both method and path/);
    expect(() => remote(qb, { method: "POST", path: "/x" }, async () => 1)).toThrow(/method and path are for load-balanced configs/);
    expect(() => remote(lb, { method: "FETCH" as "GET", path: "/x" }, async () => 1)).toThrow(/method must be one of/);
    expect(() => remote(lb, { method: "GET", path: "/ping" }, async () => 1)).toThrow(/reserved/);
    expect(() => remote(qb, { dependencies: ["not a spec!"] }, async () => 1)).toThrow(/not an npm package spec/);
    expect(() => remote(qb, { nope: true } as never, async () => 1)).toThrow(/unknown option/);
    expect(() => remote({} as never, async () => 1)).toThrow(/resource config/);
  });

  it("normalises LB paths and records metadata", () => {
    const f = remote(lb, { method: "get", path: "/items/{id}" } as never, async (x: unknown) => x);
    const meta = getRemoteMeta(f);
    expect(meta).toMatchObject({ kind: "function", options: { method: "GET", path: "/items/:id" } });
  });

  it("dispatches tagged functions, runs local ones in-process, and explains untagged calls", async () => {
    const f = remote(qb, async (n: number) => n + 1);
    const local = remote(qb, { local: true }, async (n: number) => n * 10);
    await expect(f(1)).rejects.toMatchObject({ code: "SERVICE_UNAVAILABLE", message: /not exported/ });
    expect(await local(2)).toBe(20);

    getRegistry().tagModule({ f }, "calc.ts", "file:///bundle-a.mjs");
    await expect(f(1)).rejects.toMatchObject({ message: /no flash runtime is active/ });
    const calls: RemoteCall[] = [];
    const restore = setDispatcher({ call: async (c) => (calls.push(c), 42) });
    try {
      expect(await f(5)).toBe(42);
    } finally {
      restore();
    }
    expect(calls[0]).toMatchObject({ identity: { file: "calc.ts", export: "f", bundleUrl: "file:///bundle-a.mjs" }, args: [5] });
    expect(getRegistry().lookup("file:///bundle-a.mjs", "calc.ts", "f")?.value).toBe(f);
  });

  it("identifies the exports of a deferred module once they are initialised, before its own tag runs", async () => {
    // A script's namespace while its body runs: exports declared later are not set yet.
    const namespace: Record<string, unknown> = { early: undefined };
    getRegistry().deferTag(namespace, "script.ts", "file:///script-bundle.mjs");
    const early = remote(qb, async (n: number) => n);
    expect(getRegistry().identify(early)).toBeUndefined();
    namespace.early = early;
    const calls: RemoteCall[] = [];
    const restore = setDispatcher({ call: async (c) => (calls.push(c), "ran") });
    try {
      expect(await early(1)).toBe("ran");
    } finally {
      restore();
    }
    expect(calls[0]?.identity).toEqual({ file: "script.ts", export: "early", bundleUrl: "file:///script-bundle.mjs" });
    // The module's own tag ends the deferral; nothing is listed twice.
    getRegistry().tagModule(namespace, "script.ts", "file:///script-bundle.mjs");
    expect(getRegistry().exportsOf("file:///script-bundle.mjs").map((e) => e.export)).toEqual(["early"]);
  });

  it("decorates classes: public async methods dispatch with the instance's constructor args", async () => {
    class Model {
      constructor(readonly size: number) {}
      async predict(x: number) {
        return x * this.size;
      }
      async _hidden() {
        return 0;
      }
      sync() {
        return 1;
      }
    }
    const Remote = remote(qb)(Model, { kind: "class", name: "Model" } as ClassDecoratorContext<typeof Model>);
    const meta = getRemoteMeta(Remote);
    expect(meta).toMatchObject({ kind: "class", methods: ["predict"] });
    getRegistry().tagModule({ Model: Remote }, "model.ts", "file:///bundle-b.mjs");
    const calls: RemoteCall[] = [];
    const restore = setDispatcher({ call: async (c) => (calls.push(c), "ok") });
    try {
      const m = new Remote(3);
      expect(await m.predict(2)).toBe("ok");
    } finally {
      restore();
    }
    expect(calls[0]).toMatchObject({ method: "predict", args: [2], instance: { args: [3] }, identity: { file: "model.ts", export: "Model" } });
    expect(() => remote(lb)).toThrow(/queue-based/);
  });
});
