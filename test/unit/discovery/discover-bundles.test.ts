/**
 * What the bundles are worth to the rest of flash-ts: they resolve flash-ts
 * to the tool's own SDK (one registry), carry source maps that name the
 * user's files, list their dependencies, and discovery never runs a remote
 * function's body.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { getRegistry, getRemoteMeta } from "../../../src/sdk/registry.js";
import type { RemoteFunctionMeta } from "../../../src/sdk/registry.js";
import { toProjectStack } from "../../../src/discovery/index.js";
import { copyFixture, openDiscovery, writeProject } from "./helpers.js";

describe("bundles", () => {
  it("resolve flash-ts to the tool's SDK: the tool's registry sees a bundle imported in-process", async () => {
    const root = copyFixture("routes");
    const manifest = await openDiscovery({ root }).discover();
    const module = manifest.modules["workers/gpu/infer.ts"]!;
    const namespace = (await import(module.url)) as Record<string, unknown>;
    const registry = getRegistry();
    const tagged = registry.exportsOf(module.url).filter((t) => t.file === "workers/gpu/infer.ts");
    expect(tagged.map((t) => t.export).sort()).toEqual(["embed", "generate"]);
    expect(registry.identify(namespace.generate as object)).toEqual({ file: "workers/gpu/infer.ts", export: "generate", bundleUrl: module.url });
    expect(getRemoteMeta(namespace.embed)?.config.toSpec().name).toBe("infer");
  });

  it("carry source maps: a function called directly throws with frames naming the .ts file and line", async () => {
    const root = copyFixture("stack");
    const manifest = await openDiscovery({ root }).discover();
    const module = manifest.modules["workers/boom.ts"]!;
    // A separate Node with source maps on, as the dev server and workers run: the test runner rewrites stacks itself.
    const script = [
      `const ns = await import(${JSON.stringify(module.url)});`,
      `const meta = ns.boom[Symbol.for("flash-ts.remote")];`,
      "try { await meta.fn({ n: 2 }); } catch (e) { console.log(e.stack); }",
    ].join("\n");
    const stack = execFileSync(process.execPath, ["--enable-source-maps", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(stack).toContain("Error: boom 2");
    expect(stack).toContain(`${join(root, "node_modules/.cache/flash-ts/bundles")}/workers/boom.ts:7:11`);
    expect(toProjectStack(stack, join(root, "node_modules/.cache/flash-ts/bundles"))).toMatch(/\(workers\/boom\.ts:7:11\)/);
    expect(stack).not.toMatch(/boom\.[0-9a-f]{8}\.mjs/);
  });

  it("carry source maps that work in-process too (the dev server runs local functions this way)", async () => {
    const root = copyFixture("stack");
    const manifest = await openDiscovery({ root }).discover();
    const module = manifest.modules["workers/boom.ts"]!;
    // Node registers a module's source map when it loads, so enable them first. The test runner
    // installs its own Error.prepareStackTrace, which would bypass Node's source maps.
    const runnerPrepare = Error.prepareStackTrace;
    const wasEnabled = process.sourceMapsEnabled;
    process.setSourceMapsEnabled(true);
    let stack = "";
    try {
      const namespace = (await import(module.url)) as Record<string, unknown>;
      const meta = getRemoteMeta(namespace.boom) as RemoteFunctionMeta;
      (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
      await (meta.fn as (input: { n: number }) => Promise<unknown>)({ n: 3 });
    } catch (error) {
      stack = (error as Error).stack ?? "";
    } finally {
      Error.prepareStackTrace = runnerPrepare;
      process.setSourceMapsEnabled(wasEnabled);
    }
    expect(toProjectStack(stack, join(root, "node_modules/.cache/flash-ts/bundles"))).toMatch(/^Error: boom 3\n\s+at .*\(workers\/boom\.ts:7:11\)/);
  });

  it("list declared dependencies and installed bare imports pinned, without flash-ts or builtins", async () => {
    const root = writeProject({
      "package.json": JSON.stringify({ type: "module", dependencies: { "left-pad": "^1.3.0" } }),
      "node_modules/left-pad/package.json": JSON.stringify({ name: "left-pad", version: "1.3.0", type: "module", exports: "./index.js" }),
      "node_modules/left-pad/index.js": "export default (s, n) => String(s).padStart(n);\n",
      "node_modules/@acme/util/package.json": JSON.stringify({ name: "@acme/util", version: "2.1.0", type: "module", exports: { "./text": "./text.js" } }),
      "node_modules/@acme/util/text.js": "export const upper = (s) => s.toUpperCase();\n",
      "node_modules/unused/package.json": JSON.stringify({ name: "unused", version: "9.9.9" }),
      "lib/pad.ts": 'import leftPad from "left-pad";\nexport const pad = (s: string) => leftPad(s, 8);\n',
      "worker.ts": [
        'import { readFileSync } from "node:fs";',
        'import path from "path";',
        'import { remote, CpuLiveServerless } from "flash-ts";',
        'import { upper } from "@acme/util/text";',
        'import { pad } from "./lib/pad.js";',
        'const cpu = new CpuLiveServerless({ name: "deps" });',
        "export const f = remote(cpu, { dependencies: [\"sharp@0.34\"] }, async (s: string) => {",
        '  const sharp = await import("sharp");',
        '  const ghost = await import("ghost-pkg");',
        "  return [upper(pad(s)), path.sep, typeof readFileSync, sharp, ghost];",
        "});",
        "",
      ].join("\n"),
    });
    const manifest = await openDiscovery({ root }).discover();
    expect(manifest.modules["worker.ts"]!.dependencies).toEqual(["@acme/util@2.1.0", "left-pad@1.3.0", "sharp@0.34"]);
    expect(manifest.functions[0]!.dependencies).toEqual(["sharp@0.34"]);
    expect(manifest.issues).toEqual([
      expect.objectContaining({ code: "DEPENDENCY_NOT_INSTALLED", severity: "warning", file: "worker.ts", message: expect.stringContaining('"ghost-pkg"') }),
    ]);
  });

  it("never run a remote function's body during discovery", async () => {
    const root = writeProject({
      "package.json": '{ "type": "module" }',
      "side.ts": [
        'import { writeFileSync } from "node:fs";',
        'import { remote, CpuLiveServerless, CpuLiveLoadBalancer } from "flash-ts";',
        'const mark = (name: string) => writeFileSync(new URL(`../../../../${name}.ran`, import.meta.url), "x");',
        'mark("top-level");',
        'export const qb = remote(new CpuLiveServerless({ name: "side" }), async () => mark("qb"));',
        'export const local = remote(new CpuLiveServerless({ name: "side" }), { local: true }, async () => mark("local"));',
        'export const lb = remote(new CpuLiveLoadBalancer({ name: "side-lb" }), { method: "POST", path: "/x" }, async () => mark("lb"));',
        'class Base { async fromBase() { mark("base"); } }',
        "@remote(new CpuLiveServerless({ name: 'side-cls' }))",
        'export class Cls extends Base { constructor() { super(); mark("ctor"); } async run() { mark("method"); } }',
        "",
      ].join("\n"),
    });
    const manifest = await openDiscovery({ root }).discover();
    expect(manifest.issues).toEqual([]);
    expect(manifest.functions.map((f) => f.id)).toEqual(["side.ts#Cls.fromBase", "side.ts#local", "side.ts#qb", "side.ts#Cls.run", "side.ts#lb"]);
    // The marker path is relative to the bundle folder: <root>/node_modules/.cache/flash-ts/bundles → <root>.
    expect(existsSync(join(root, "top-level.ran"))).toBe(true);
    for (const body of ["qb", "local", "lb", "base", "ctor", "method"]) expect(existsSync(join(root, `${body}.ran`)), body).toBe(false);
  });

  it("tag files without exports, default exports and re-exports without moving a function's home", async () => {
    const root = writeProject({
      "package.json": '{ "type": "module" }',
      "impl.ts": 'import { remote, CpuLiveServerless } from "flash-ts";\nexport default remote(new CpuLiveServerless({ name: "impl" }), async () => "impl");\n',
      "barrel.mjs": '// re-exports a remote function\nexport { default as impl } from "./impl.ts";\n',
      "side-effect.js": 'import "./impl.ts";\nconsole.log("remote-free side effect");\n',
    });
    const manifest = await openDiscovery({ root }).discover();
    expect(manifest.issues).toEqual([]);
    expect(manifest.functions.map((f) => f.id)).toEqual(["impl.ts#default"]);
    expect(Object.keys(manifest.modules)).toEqual(["impl.ts"]);
    const meta = getRemoteMeta((await import(manifest.modules["impl.ts"]!.url)).default) as RemoteFunctionMeta;
    expect(meta.kind).toBe("function");
  });
});
