/**
 * Dependencies of remote functions installed with the real npm from the
 * registry: once per spec list across processes sharing a cache, importable
 * by the module, and a failed install reported as kind "dependencies".
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../../src/common/logger.js";
import { createDependencyInstaller, resolveDependencySet } from "../../src/worker/dependency-installer.js";
import { createExecutor } from "../../src/worker/execute.js";
import { bundle, makeRequest, resultOf, tempDir, unique } from "../helpers/worker-bundles.js";
import { DEAD_PID, handMadeLock } from "../helpers/lock-fixtures.js";

describe("npm dependencies (real registry)", () => {
  let cache: { path: string; remove: () => Promise<void> };
  beforeAll(async () => (cache = await tempDir()));
  afterAll(() => cache.remove());

  it("installs once per spec list, in this process and across processes sharing the cache", async () => {
    const logger = createMemoryLogger("info");
    const installer = createDependencyInstaller({ cacheDir: cache.path, logger });
    const set = resolveDependencySet(["is-number@7.0.0"]);
    // Concurrent first uses share one install.
    const [a, b] = await Promise.all([installer.ensure(set), installer.ensure(set)]);
    expect([a.installed, b.installed].sort()).toEqual([false, true]);
    const pkg = JSON.parse(await readFile(join(a.dir, "node_modules", "is-number", "package.json"), "utf8")) as { version: string };
    expect(pkg.version).toBe("7.0.0");
    expect((await installer.ensure(set)).installed).toBe(false);
    // Another installer (another worker process) finds the marker and does not run npm.
    const other = createDependencyInstaller({ cacheDir: cache.path, logger });
    expect((await other.ensure(set)).installed).toBe(false);
    expect(logger.lines.filter((l) => l.startsWith("installing"))).toHaveLength(1);
  }, 120_000);

  it("takes over at once the install lock of a worker that died mid-install", async () => {
    const logger = createMemoryLogger("info");
    const set = resolveDependencySet(["is-odd@3.0.1"]);
    // Left by a worker killed during npm install: its lock, its half-made folder, no marker.
    await handMadeLock(join(cache.path, "deps", `${set.key}.lock`), { pid: DEAD_PID });
    const result = await createDependencyInstaller({ cacheDir: cache.path, logger }).ensure(set);
    expect(result.installed).toBe(true);
    expect(logger.lines.some((l) => l.includes("waiting for another worker process"))).toBe(false);
    expect(await readdir(join(cache.path, "deps"))).not.toContain(`${set.key}.lock`);
  }, 120_000);

  it("lets a module import its dependencies, installing them only the first time", async () => {
    const logger = createMemoryLogger("info");
    const executor = createExecutor({ cacheDir: cache.path, logger });
    try {
      const mod = bundle(
        `import { remote, CpuLiveServerless } from "flash-ts";\n// ${unique()}\nconst cpu = new CpuLiveServerless({ name: "cpu" });\nexport const check = remote(cpu, { dependencies: ["is-number@7.0.0"] }, async (v) => { const { default: isNumber } = await import("is-number"); return isNumber(v); });`,
        "deps.ts",
        ["check"],
      );
      const request = makeRequest(mod, "deps.ts", "check", ["42"], { dependencies: ["is-number@7.0.0"] });
      expect(resultOf(await executor.execute(request))).toBe(true);
      expect(resultOf(await executor.execute(makeRequest(mod, "deps.ts", "check", ["x"], { dependencies: ["is-number@7.0.0"], withCode: false })))).toBe(false);
      // The previous test installed this list into the same cache: no npm run at all.
      expect(logger.lines.some((l) => l.includes("installing"))).toBe(false);
    } finally {
      executor.close();
    }
  }, 120_000);

  it("reports an install failure as kind dependencies", async () => {
    const executor = createExecutor({ cacheDir: cache.path, installDispatcher: false });
    try {
      const mod = bundle(`import { remote, CpuLiveServerless } from "flash-ts";\n// ${unique()}\nconst cpu = new CpuLiveServerless({ name: "cpu" });\nexport const f = remote(cpu, async () => 1);`, "nodeps.ts", ["f"]);
      const response = await executor.execute(makeRequest(mod, "nodeps.ts", "f", [], { dependencies: ["is-number@999.999.999"] }));
      expect(!response.ok && response.error.kind).toBe("dependencies");
      expect(!response.ok && response.error.message).toContain("is-number@999.999.999");
    } finally {
      executor.close();
    }
  }, 120_000);
});
