/**
 * discover() end to end on fixture projects: real esbuild bundles, imported
 * in a real worker thread, read through the real SDK registry.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/common/package-info.js";
import { copyFixture, openDiscovery, routeList } from "./helpers.js";

describe("discover() on the routes fixture", () => {
  it("serves every kind of remote function at its route", async () => {
    const root = copyFixture("routes");
    const manifest = await openDiscovery({ root }).discover();
    expect(manifest.issues).toEqual([]);
    expect(routeList(manifest)).toEqual([
      "GET /api/lb",
      "GET /api/lb/items/:id",
      "POST /api/lb/process",
      // The file's only QB function, beside three LB routes.
      "POST /api/lb/run_sync",
      "POST /hello/run_sync",
      "POST /js/esm/run_sync",
      "POST /js/plain/run_sync",
      "POST /models/chat/generate/run_sync",
      "POST /models/chat/summarize/run_sync",
      "POST /models/single/run_sync",
      "POST /workers/gpu/infer/embed/run_sync",
      "POST /workers/gpu/infer/generate/run_sync",
      "POST /workers/my-worker/run_sync",
    ]);
    expect(manifest.generation).toBe(1);
    expect(manifest.candidates).toEqual([
      "api/lb.mts",
      "hello.ts",
      "js/esm.mjs",
      "js/plain.js",
      "models/chat.ts",
      "models/single.ts",
      "notes.ts",
      "workers/gpu/infer.ts",
      "workers/my-worker.ts",
    ]);
    // lib/text.ts is not a candidate, but hello.ts's bundle is built from it.
    expect(manifest.watchedInputs).toContain("lib/text.ts");
    expect(manifest.modules["hello.ts"]!.inputs).toEqual(["hello.ts", "lib/text.ts"]);
    // notes.ts mentions remote but defines nothing: no module, no issue.
    expect(manifest.modules["notes.ts"]).toBeUndefined();
  });

  it("describes each function: config spec, kind, options, class methods, default exports", async () => {
    const root = copyFixture("routes");
    const manifest = await openDiscovery({ root }).discover();
    const byId = new Map(manifest.functions.map((f) => [f.id, f]));
    expect(byId.get("hello.ts#hello")).toMatchObject({
      kind: "QB",
      local: false,
      dependencies: [],
      config: { name: "gpu-worker", endpointName: "live-gpu-worker", kind: "QB", compute: "GPU", gpus: ["ADA_24"], workersMax: 3, className: "LiveServerless" },
      route: { method: "POST", path: "/hello/run_sync", aliases: ["/hello/runsync"] },
    });
    expect(byId.get("workers/gpu/infer.ts#generate")).toMatchObject({ dependencies: ["sharp@0.34"], config: { gpuCount: 2 } });
    expect(byId.get("workers/my-worker.ts#default")).toMatchObject({ export: "default", config: { name: "cpu-worker", compute: "CPU" } });
    expect(byId.get("api/lb.mts#getItem")).toMatchObject({
      kind: "LB",
      http: { method: "GET", path: "/items/:id" },
      config: { kind: "LB", workersMin: 1, scalerType: "REQUEST_COUNT" },
    });
    expect(byId.get("api/lb.mts#processItem")).toMatchObject({ http: { method: "POST", path: "/process" } });
    expect(byId.get("models/chat.ts#Chat.generate")).toMatchObject({ export: "Chat", method: "generate", kind: "QB" });
    expect(byId.has("models/chat.ts#Chat._warmup")).toBe(false);
    expect(byId.has("models/chat.ts#Chat.count")).toBe(false);
    expect(byId.get("models/single.ts#Single.run")).toMatchObject({ route: { path: "/models/single/run_sync" } });
  });

  it("writes content-addressed bundles next to a flash-ts link to the running tool", async () => {
    const root = copyFixture("routes");
    const manifest = await openDiscovery({ root }).discover();
    const hello = manifest.modules["hello.ts"]!;
    const bundles = join(root, "node_modules", ".cache", "flash-ts", "bundles");
    expect(hello.path).toMatch(new RegExp(`^${bundles}/hello\\.${hello.hash.slice(0, 8)}\\.mjs$`));
    expect(hello.url).toBe(`file://${hello.path}`);
    expect(hello.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(hello.path, "utf8")).toBe(hello.code);
    expect(hello.code).toContain('tagModule(hello_exports, "hello.ts", import.meta.url)');
    expect(hello.code).toMatch(/\/\/# sourceMappingURL=data:application\/json;base64,/);
    const map = JSON.parse(Buffer.from(hello.code.split("base64,")[1]!, "base64").toString()) as { sources: string[]; sourcesContent?: unknown };
    expect([...map.sources].sort()).toEqual(["hello.ts", "lib/text.ts"]);
    expect(map.sourcesContent).toBeUndefined();
    const link = join(root, "node_modules", ".cache", "flash-ts", "node_modules", "flash-ts");
    expect(existsSync(join(link, "package.json"))).toBe(true);
    expect(readFileSync(join(link, "package.json"), "utf8")).toBe(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8"));
  });
});

describe("discover() on the collisions fixture", () => {
  it("reports colliding routes naming both files and serves neither", async () => {
    const root = copyFixture("collisions");
    const manifest = await openDiscovery({ root }).discover();
    expect(routeList(manifest)).toEqual(["POST /a/y/run_sync", "POST /b/run_sync", "GET /c/d/run_sync", "POST /unique/run_sync"]);
    // b.ts's QB function keeps its primary route; its alias was claimed by the LB route.
    expect(manifest.functions.find((f) => f.id === "b.ts#one")!.route.aliases).toEqual([]);
    const collisions = manifest.issues.filter((i) => i.code === "ROUTE_COLLISION");
    expect(collisions.map((i) => [i.file, i.related ?? []])).toEqual(
      expect.arrayContaining([
        ["a.ts", ["a/x.ts"]],
        ["b.ts", []],
        ["c.ts", ["c/d.ts"]],
      ]),
    );
    expect(collisions).toHaveLength(3);
    for (const issue of collisions) expect(issue.message).toMatch(/claim the same route/);
  });
});
