import { describe, expect, it } from "vitest";
import { buildFunctionEntries, routePrefix } from "../../../src/discovery/build-manifest.js";
import type { LoadedModule } from "../../../src/discovery/build-manifest.js";
import type { ReadExport } from "../../../src/discovery/read-exports-protocol.js";
import { CpuLiveLoadBalancer, CpuLiveServerless } from "../../../src/sdk/index.js";
import type { HttpMethod } from "../../../src/sdk/index.js";

let seq = 0;
const qb = (name: string, options: ReadExport["options"] = {}): ReadExport => ({
  export: name,
  kind: "function",
  config: new CpuLiveServerless({ name: "q" }).toSpec(),
  options,
  seq: ++seq,
});
const lb = (name: string, method: HttpMethod, path: string): ReadExport => ({
  export: name,
  kind: "function",
  config: new CpuLiveLoadBalancer({ name: "l" }).toSpec(),
  options: { method, path },
  seq: ++seq,
});
const cls = (name: string, methods: string[]): ReadExport => ({
  export: name,
  kind: "class",
  config: new CpuLiveServerless({ name: "c" }).toSpec(),
  options: {},
  methods,
  seq: ++seq,
});
const routes = (modules: LoadedModule[]): string[] =>
  buildFunctionEntries(modules).functions.map((f) => `${f.route.method} ${f.route.path} ${f.id} [${f.route.aliases.join(",")}]`);

describe("route prefixes", () => {
  it.each([
    ["gpu_worker.ts", "/gpu_worker"],
    ["workers/gpu/infer.ts", "/workers/gpu/infer"],
    ["my-worker.mts", "/my-worker"],
    ["01_getting_started/03_mixed/pipeline.js", "/01_getting_started/03_mixed/pipeline"],
    ["a.b.mjs", "/a.b"],
  ])("%s → %s", (file, prefix) => {
    expect(routePrefix(file)).toBe(prefix);
  });
});

describe("function entries", () => {
  it("routes a file with one QB function at /{prefix}/run_sync with the /runsync alias", () => {
    const { functions, issues } = buildFunctionEntries([{ file: "workers/gpu.ts", exports: [qb("hello", { dependencies: ["sharp@0.34"], local: true })] }]);
    expect(issues).toEqual([]);
    expect(functions).toEqual([
      expect.objectContaining({
        id: "workers/gpu.ts#hello",
        file: "workers/gpu.ts",
        export: "hello",
        kind: "QB",
        dependencies: ["sharp@0.34"],
        local: true,
        route: { method: "POST", path: "/workers/gpu/run_sync", aliases: ["/workers/gpu/runsync"] },
      }),
    ]);
    expect(functions[0]!.http).toBeUndefined();
  });

  it("routes several QB functions by export name", () => {
    expect(routes([{ file: "a.ts", exports: [qb("y"), qb("x"), qb("default")] }])).toEqual([
      "POST /a/default/run_sync a.ts#default [/a/default/runsync]",
      "POST /a/x/run_sync a.ts#x [/a/x/runsync]",
      "POST /a/y/run_sync a.ts#y [/a/y/runsync]",
    ]);
  });

  it("routes LB functions at {METHOD} /{prefix}{path}, keeping path params", () => {
    const { functions } = buildFunctionEntries([
      { file: "api/lb-worker.ts", exports: [lb("get", "GET", "/items/:id"), lb("root", "GET", "/"), lb("post", "POST", "/process/"), qb("q")] },
    ]);
    expect(functions.map((f) => `${f.route.method} ${f.route.path}`)).toEqual([
      "GET /api/lb-worker",
      "GET /api/lb-worker/items/:id",
      "POST /api/lb-worker/process",
      "POST /api/lb-worker/run_sync",
    ]);
    expect(functions.find((f) => f.export === "get")).toMatchObject({ kind: "LB", http: { method: "GET", path: "/items/:id" }, route: { aliases: [] } });
  });

  it("gives an @remote class one callable per public async method", () => {
    expect(routes([{ file: "models/chat.ts", exports: [cls("Chat", ["generate", "summarize"])] }])).toEqual([
      "POST /models/chat/generate/run_sync models/chat.ts#Chat.generate [/models/chat/generate/runsync]",
      "POST /models/chat/summarize/run_sync models/chat.ts#Chat.summarize [/models/chat/summarize/runsync]",
    ]);
    expect(routes([{ file: "one.ts", exports: [cls("One", ["run"])] }])).toEqual(["POST /one/run_sync one.ts#One.run [/one/runsync]"]);
    // A class method and a function in one file: two callables, so each is named.
    expect(routes([{ file: "mix.ts", exports: [cls("M", ["run"]), qb("fn")] }])).toEqual([
      "POST /mix/fn/run_sync mix.ts#fn [/mix/fn/runsync]",
      "POST /mix/run/run_sync mix.ts#M.run [/mix/run/runsync]",
    ]);
    const [entry] = buildFunctionEntries([{ file: "one.ts", exports: [cls("One", ["run"])] }]).functions;
    expect(entry).toMatchObject({ export: "One", method: "run", kind: "QB" });
  });

  it("sorts by file, then route", () => {
    const { functions } = buildFunctionEntries([
      { file: "b.ts", exports: [qb("only")] },
      { file: "a/z.ts", exports: [qb("z1"), qb("z0")] },
      { file: "a.ts", exports: [lb("p", "POST", "/zz"), lb("g", "GET", "/aa")] },
    ]);
    expect(functions.map((f) => f.id)).toEqual(["a.ts#g", "a.ts#p", "a/z.ts#z0", "a/z.ts#z1", "b.ts#only"]);
  });
});

describe("route collisions", () => {
  it("reports two files claiming one route, naming both, and serves neither", () => {
    const { functions, issues } = buildFunctionEntries([
      { file: "a.ts", exports: [qb("x"), qb("y")] },
      { file: "a/x.ts", exports: [qb("only")] },
    ]);
    expect(functions.map((f) => f.id)).toEqual(["a.ts#y"]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: "ROUTE_COLLISION", severity: "error", file: "a.ts", related: ["a/x.ts"] });
    expect(issues[0]!.message).toContain("a.ts#x");
    expect(issues[0]!.message).toContain("a/x.ts#only");
    expect(issues[0]!.message).toContain("/a/x/run_sync");
  });

  it("treats the /runsync alias as a route: an LB route on it drops the alias and the LB route", () => {
    const { functions, issues } = buildFunctionEntries([{ file: "b.ts", exports: [qb("one"), lb("sneaky", "POST", "/runsync")] }]);
    expect(functions.map((f) => `${f.id} ${f.route.path} [${f.route.aliases.join(",")}]`)).toEqual(["b.ts#one /b/run_sync []"]);
    expect(issues).toEqual([expect.objectContaining({ code: "ROUTE_COLLISION", file: "b.ts" })]);
    expect(issues[0]!.related).toBeUndefined();
  });

  it("detects LB vs QB across files, param names aside, and keeps other methods", () => {
    const { functions, issues } = buildFunctionEntries([
      { file: "c.ts", exports: [lb("route", "POST", "/d/run_sync"), lb("fine", "GET", "/d/run_sync")] },
      { file: "c/d.ts", exports: [qb("d")] },
      { file: "p.ts", exports: [lb("one", "GET", "/items/:id"), lb("two", "GET", "/items/:key/")] },
    ]);
    expect(functions.map((f) => f.id)).toEqual(["c.ts#fine"]);
    expect(issues.map((i) => [i.file, i.related])).toEqual([
      ["c.ts", ["c/d.ts"]],
      ["p.ts", undefined],
    ]);
  });

  it("does not confuse a literal segment with a parameter", () => {
    const { functions, issues } = buildFunctionEntries([{ file: "p.ts", exports: [lb("one", "GET", "/items/:id"), lb("two", "GET", "/items/new")] }]);
    expect(issues).toEqual([]);
    expect(functions).toHaveLength(2);
  });
});
