/**
 * Endpoint definitions through real discovery (esbuild bundles imported in
 * the export-reading thread): files that use only `Endpoint` are candidates,
 * and their functions, classes and routes are described like remote()'s.
 */
import { describe, expect, it } from "vitest";
import { openDiscovery, routeList, writeProject } from "./helpers.js";

describe("discover() on Endpoint definitions", () => {
  it("serves queue-based functions, classes and load-balanced routes of files that never mention remote()", async () => {
    const root = writeProject({
      "package.json": JSON.stringify({ name: "ep", type: "module" }),
      "hello.ts": [
        'import { Endpoint, GpuGroup } from "flash-ts";',
        'export const hello = new Endpoint({ name: "hello", gpu: GpuGroup.ADA_24, workers: [0, 3] }).fn(async (input: { name: string }) => `hi ${input.name}`);',
      ].join("\n"),
      "model.ts": [
        'import { Endpoint } from "flash-ts";',
        '@Endpoint.fn({ cpu: "cpu3c-2-4" })',
        "export class Model {",
        "  async predict(x: number) { return x * 2; }",
        "  async embed(x: number) { return [x]; }",
        "}",
      ].join("\n"),
      "api.ts": [
        'import { Endpoint, CpuInstanceType } from "flash-ts";',
        'const api = new Endpoint({ name: "api", cpu: CpuInstanceType.CPU3C_2_4, dependencies: ["left-pad@1.3.0"] });',
        'export const list = api.get("/items", async () => []);',
        'export const create = api.post("/items", async (body: { name: string }) => body);',
        'export const remove = api.delete("/items/{id}", async (input: { id: string }) => ({ deleted: input.id }));',
      ].join("\n"),
    });
    const manifest = await openDiscovery({ root }).discover();
    expect(manifest.issues).toEqual([]);
    expect(manifest.candidates).toEqual(["api.ts", "hello.ts", "model.ts"]);
    expect(routeList(manifest)).toEqual([
      "GET /api/items",
      "POST /api/items",
      "DELETE /api/items/:id",
      "POST /hello/run_sync",
      "POST /model/embed/run_sync",
      "POST /model/predict/run_sync",
    ]);
    const byId = new Map(manifest.functions.map((f) => [f.id, f]));
    expect(byId.get("hello.ts#hello")).toMatchObject({ kind: "QB", config: { endpointName: "live-hello", className: "LiveServerless", gpus: ["ADA_24"], workersMax: 3 } });
    expect(byId.get("model.ts#Model.predict")).toMatchObject({ kind: "QB", method: "predict", config: { name: "Model", compute: "CPU" } });
    expect(byId.get("api.ts#create")).toMatchObject({ kind: "LB", http: { method: "POST", path: "/items" }, dependencies: ["left-pad@1.3.0"], config: { className: "CpuLiveLoadBalancer" } });
  });
});
