import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/common/package-info.js";
import { createExecutor } from "../../../src/worker/execute.js";
import type { Executor } from "../../../src/worker/execute.js";
import { cleanStack, registerModuleSources } from "../../../src/worker/stack-trace.js";
import { bundleFixture, makeRequest, tempDir } from "../../helpers/worker-bundles.js";

describe("cleanStack", () => {
  const cache = "/tmp/cache-x";

  it("names mapped sources by their project-relative path", () => {
    const map = Buffer.from(JSON.stringify({ version: 3, sources: ["../../../../workers/a.ts"], mappings: "" })).toString("base64");
    const url = "file:///tmp/cache-x/deps/none/modules/abc.mjs";
    registerModuleSources(url, `export {};\n//# sourceMappingURL=data:application/json;base64,${map}\n`);
    // new URL("../../../../workers/a.ts", url) climbs out of the cache: that is the path Node prints.
    const stack = ["Error: x", "    at handler (/tmp/workers/a.ts:7:11)", "    at /tmp/workers/a.ts:9:1"].join("\n");
    expect(cleanStack(stack, cache)).toBe(["Error: x", "    at handler (workers/a.ts:7:11)", "    at workers/a.ts:9:1"].join("\n"));
  });

  it("strips the cache prefix from unmapped module and dependency frames", () => {
    const stack = [
      "TypeError: y",
      "    at f (/tmp/cache-x/deps/none/modules/0123.mjs:3:9)",
      "    at g (/tmp/cache-x/deps/abcd/node_modules/lib/index.js:1:2)",
      "    at async Promise.all (index 0)",
    ].join("\n");
    expect(cleanStack(stack, cache)).toBe(
      ["TypeError: y", "    at f (0123.mjs:3:9)", "    at g (node_modules/lib/index.js:1:2)", "    at async Promise.all (index 0)"].join("\n"),
    );
  });

  it("drops frames of the runtime and of Node's task queue", () => {
    const stack = [
      "Error: z",
      "    at user (workers/a.ts:1:1)",
      `    at invoke (${import.meta.dirname}/../../../src/worker/execute.ts:10:5)`.replace("/test/unit/worker/../../..", ""),
      // An installed package's own frames, unmapped (Node leaves node_modules out of source maps), as ESM names them.
      `    at Object.execute (${pathToFileURL(join(PACKAGE_ROOT, "dist", "worker", "execute.js")).href}:166:32)`,
      `    at async runJob (${pathToFileURL(join(PACKAGE_ROOT, "dist", "worker", "queue-worker.js")).href}:55:17)`,
      "    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)",
    ].join("\n");
    expect(cleanStack(stack, cache)).toBe(["Error: z", "    at user (workers/a.ts:1:1)"].join("\n"));
  });
});

describe("stack traces of bundled TypeScript", () => {
  let cache: { path: string; remove: () => Promise<void> };
  let executor: Executor;
  beforeAll(async () => {
    cache = await tempDir();
    executor = createExecutor({ cacheDir: cache.path });
  });
  afterAll(async () => {
    executor.close();
    await cache.remove();
  });

  it("point at the user's own files and lines through the inline source map", async () => {
    const mod = await bundleFixture("workers/boom.ts");
    const response = await executor.execute(makeRequest(mod, "workers/boom.ts", "boom", [{ n: 3 }]));
    expect(response.ok).toBe(false);
    if (response.ok) return;
    expect(response.error).toMatchObject({ kind: "function", name: "Error", message: "boom 3" });
    expect(response.error.stack).toMatch(/at explode \(workers\/boom\.ts:7:9\)/);
    expect(response.error.stack).not.toContain(cache.path);
    expect(response.error.stack).not.toContain(".mjs");

    const inHelper = await executor.execute(makeRequest(mod, "workers/boom.ts", "helperFails", [{ n: 2 }]));
    expect(!inHelper.ok && inHelper.error.name).toBe("RangeError");
    expect(!inHelper.ok && inHelper.error.stack).toMatch(/at describe \(workers\/helper\.ts:4:11\)/);
  });
});
