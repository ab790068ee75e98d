/**
 * Incremental rediscovery: discover(changedPaths) does only the work those
 * paths affect, and the result equals what a full discovery would give.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasCode } from "../../../src/common/errors.js";
import { copyFixture, openDiscovery, qbModule, routeList, writeFile, writeProject } from "./helpers.js";

describe("incremental discovery", () => {
  it("follows edits, additions and removals, rebuilding only what they touch", async () => {
    const root = copyFixture("routes");
    const discovery = openDiscovery({ root });
    const first = await discovery.discover();
    expect(first.stats).toMatchObject({ fullScan: true });
    expect(first.stats!.rebuilt).toHaveLength(9);

    // Nothing that matters changed: nothing rebuilt, nothing imported, same bundles.
    const idle = await discovery.discover([join(root, "README.md")]);
    expect(idle.generation).toBe(2);
    expect(idle.stats).toMatchObject({ fullScan: false, rebuilt: [], reloaded: [] });
    expect(routeList(idle)).toEqual(routeList(first));
    expect(idle.modules["hello.ts"]!.hash).toBe(first.modules["hello.ts"]!.hash);

    // Edit a helper that only hello.ts imports: only hello.ts is rebuilt and re-imported.
    writeFileSync(join(root, "lib/text.ts"), "export function shout(text: string): string {\n  return text.toUpperCase() + '!';\n}\n");
    const edited = await discovery.discover(["lib/text.ts"]);
    expect(edited.stats).toMatchObject({ rebuilt: ["hello.ts"], reloaded: ["hello.ts"] });
    expect(edited.modules["hello.ts"]!.hash).not.toBe(first.modules["hello.ts"]!.hash);
    expect(edited.modules["hello.ts"]!.code).toContain('toUpperCase() + "!"');
    expect(edited.modules["js/plain.js"]!.hash).toBe(first.modules["js/plain.js"]!.hash);

    // Add a second function to hello.ts: its single route splits in two.
    writeFileSync(
      join(root, "hello.ts"),
      [
        'import { remote, LiveServerless, GpuGroup } from "flash-ts";',
        'const gpu = new LiveServerless({ name: "gpu-worker", gpus: [GpuGroup.ADA_24], workersMax: 3 });',
        "export const hello = remote(gpu, async () => 1);",
        "export const bye = remote(gpu, async () => 2);",
        "",
      ].join("\n"),
    );
    const split = await discovery.discover([join(root, "hello.ts")]);
    expect(routeList(split).filter((r) => r.includes("/hello"))).toEqual(["POST /hello/bye/run_sync", "POST /hello/hello/run_sync"]);
    // hello.ts no longer imports lib/text.ts.
    expect(split.watchedInputs).not.toContain("lib/text.ts");

    // Add a file in a new folder, and remove another file.
    writeFile(root, "extra/new-worker.ts", qbModule("new-worker"));
    rmSync(join(root, "js/esm.mjs"));
    const changed = await discovery.discover(["extra", "js/esm.mjs"]);
    expect(changed.stats).toMatchObject({ rebuilt: ["extra/new-worker.ts"], reloaded: ["extra/new-worker.ts"] });
    expect(routeList(changed)).toContain("POST /extra/new-worker/run_sync");
    expect(routeList(changed)).not.toContain("POST /js/esm/run_sync");
    expect(changed.candidates).not.toContain("js/esm.mjs");
    expect(changed.modules["js/esm.mjs"]).toBeUndefined();

    // A full rediscovery agrees with the incremental one.
    const full = await discovery.discover();
    expect(routeList(full)).toEqual(routeList(changed));
    expect(Object.fromEntries(Object.entries(full.modules).map(([k, m]) => [k, m.hash]))).toEqual(
      Object.fromEntries(Object.entries(changed.modules).map(([k, m]) => [k, m.hash])),
    );
    expect(full.stats!.reloaded).toEqual([]);
    expect(full.generation).toBe(6);
  });

  it("reports a syntax error, keeps serving the broken file's last good version, and recovers when it is fixed", async () => {
    const root = writeProject({ "package.json": '{ "type": "module" }', "a.ts": qbModule("a"), "b.ts": qbModule("b") });
    const discovery = openDiscovery({ root });
    const good = await discovery.discover();
    expect(routeList(good)).toEqual(["POST /a/run_sync", "POST /b/run_sync"]);

    writeFileSync(join(root, "a.ts"), qbModule("a").replace("return input;", "return input;;)"));
    const broken = await discovery.discover(["a.ts"]);
    expect(routeList(broken)).toEqual(["POST /a/run_sync", "POST /b/run_sync"]);
    expect(broken.modules["a.ts"]!.hash).toBe(good.modules["a.ts"]!.hash);
    expect(broken.issues).toEqual([expect.objectContaining({ code: "FUNCTION_LOAD_FAILED", file: "a.ts", line: 3, message: expect.stringMatching(/still serving the last version that loaded/) })]);
    expect(broken.stats!.reloaded).toEqual([]);

    // Reverting to the last good code reuses its bundle and its exports: nothing is imported.
    writeFileSync(join(root, "a.ts"), qbModule("a"));
    const fixed = await discovery.discover(["a.ts"]);
    expect(routeList(fixed)).toEqual(["POST /a/run_sync", "POST /b/run_sync"]);
    expect(fixed.issues).toEqual([]);
    expect(fixed.stats!.reloaded).toEqual([]);
    expect(fixed.modules["a.ts"]!.hash).toBe(good.modules["a.ts"]!.hash);
  });

  it("retries a failed build when the missing import appears", async () => {
    const root = writeProject({
      "package.json": '{ "type": "module" }',
      "a.ts": 'import { remote, CpuLiveServerless } from "flash-ts";\nimport { n } from "./n.js";\nexport const a = remote(new CpuLiveServerless({ name: "a" }), async () => n);\n',
    });
    const discovery = openDiscovery({ root });
    expect((await discovery.discover()).issues).toEqual([expect.objectContaining({ file: "a.ts", line: 2 })]);
    writeFile(root, "n.ts", "export const n = 1;\n");
    const fixed = await discovery.discover(["n.ts"]);
    expect(fixed.issues).toEqual([]);
    expect(routeList(fixed)).toEqual(["POST /a/run_sync"]);
  });

  it("rebuilds for a changed input outside the root without scanning it", async () => {
    const dir = writeProject({
      "app/package.json": '{ "type": "module" }',
      "app/a.ts": 'import { remote, CpuLiveServerless } from "flash-ts";\nimport { n } from "../common/n.js";\nexport const a = remote(new CpuLiveServerless({ name: "a" }), async () => n);\n',
      "common/n.ts": "export const n = 1; // remote\n",
    });
    const root = join(dir, "app");
    const discovery = openDiscovery({ root });
    const first = await discovery.discover();
    expect(first.modules["a.ts"]!.inputs).toEqual(["a.ts", "../common/n.ts"]);
    expect(first.watchedInputs).toContain("../common/n.ts");
    writeFileSync(join(dir, "common/n.ts"), "export const n = 2; // remote\n");
    const second = await discovery.discover([join(dir, "common/n.ts")]);
    expect(second.stats).toMatchObject({ rebuilt: ["a.ts"], reloaded: ["a.ts"] });
    expect(second.candidates).toEqual(["a.ts"]);
    expect(discovery.scannedFiles()).toEqual(["a.ts"]);
  });

  it("reloads ignore rules when .flashignore changes", async () => {
    const root = writeProject({ "package.json": '{ "type": "module" }', "a.ts": qbModule("a"), "scratch/b.ts": qbModule("b") });
    const discovery = openDiscovery({ root });
    expect(routeList(await discovery.discover())).toEqual(["POST /a/run_sync", "POST /scratch/b/run_sync"]);
    writeFileSync(join(root, ".flashignore"), "scratch/\n");
    const after = await discovery.discover([".flashignore"]);
    expect(after.stats!.fullScan).toBe(true);
    expect(routeList(after)).toEqual(["POST /a/run_sync"]);
    expect(discovery.isIgnored("scratch/b.ts")).toBe(true);
    expect(discovery.isIgnored("scratch/")).toBe(true);
    expect(discovery.scannedFiles()).toEqual(["a.ts"]);
  });

  it("garbage-collects bundles no recent generation uses", async () => {
    const root = writeProject({ "package.json": '{ "type": "module" }', "a.ts": qbModule("a") });
    const discovery = openDiscovery({ root, keepGenerations: 2 });
    const bundles = join(root, "node_modules/.cache/flash-ts/bundles");
    const paths: string[] = [];
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(root, "a.ts"), qbModule("a", "fn", `return ${i};`));
      const manifest = await discovery.discover(["a.ts"]);
      paths.push(manifest.modules["a.ts"]!.path);
    }
    expect(new Set(paths).size).toBe(4);
    expect(existsSync(paths[0]!)).toBe(false);
    expect(existsSync(paths[1]!)).toBe(false);
    expect(existsSync(paths[2]!)).toBe(true);
    expect(existsSync(paths[3]!)).toBe(true);
    expect(readdirSync(bundles).sort()).toEqual([paths[2]!, paths[3]!].map((p) => p.slice(bundles.length + 1)).sort());
  });

  it("serialises concurrent calls and refuses work after close()", async () => {
    const root = writeProject({ "package.json": '{ "type": "module" }', "a.ts": qbModule("a") });
    const discovery = openDiscovery({ root });
    const results = await Promise.all([discovery.discover(), discovery.discover(["a.ts"]), discovery.discover()]);
    expect(results.map((m) => m.generation)).toEqual([1, 2, 3]);
    await discovery.close();
    await discovery.close();
    await expect(discovery.discover()).rejects.toSatisfy((error: unknown) => hasCode(error, "DISPOSED"));
  });
});
