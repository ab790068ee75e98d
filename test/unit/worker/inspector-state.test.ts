/**
 * A worker with an inspector open (`flash dev --inspect`) enforces no
 * execution limit: a debugger may hold the call paused, and the limit's timer
 * would fire the moment it resumes. Without an inspector the limit holds
 * (execute.test.ts).
 */
import inspector from "node:inspector";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FunctionCall, FunctionClient } from "../../../src/calls/function-client.js";
import { LiveServerless } from "../../../src/sdk/index.js";
import { getRemoteMeta } from "../../../src/sdk/registry.js";
import { remote } from "../../../src/sdk/remote.js";
import { callStorage, LogCollector } from "../../../src/worker/call-context.js";
import { createExecutor } from "../../../src/worker/execute.js";
import { UNBOUNDED_WAIT_MS, underInspector } from "../../../src/worker/inspector-state.js";
import type { LoadedModule } from "../../../src/worker/module-cache.js";
import { createNestedDispatcher } from "../../../src/worker/nested-dispatch.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { bundle, makeRequest, resultOf, tempDir, unique } from "../../helpers/worker-bundles.js";

let cache: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  cache = await tempDir();
});
afterAll(async () => {
  inspector.close();
  await cache.remove();
});

describe("under an inspector", () => {
  it("is known when the inspector opens (SIGUSR1 or --inspect), and then calls get no timeout", async () => {
    expect(underInspector()).toBe(false);
    inspector.open(0, "127.0.0.1");
    expect(underInspector()).toBe(true);

    const clock = new FakeClock();
    const executor = createExecutor({ cacheDir: cache.path, installDispatcher: false, clock });
    try {
      const header = `import { remote, CpuLiveServerless } from "flash-ts";\nconst cpu = new CpuLiveServerless({ name: "cpu" });\n`;
      const mod = bundle(
        `${header}// ${unique()}\nexport const held = remote(cpu, () => new Promise((resolve) => globalThis.__heldStarted(resolve)));`,
        "held.ts",
        ["held"],
      );
      const started = new Promise<(value: string) => void>((resolve) => ((globalThis as { __heldStarted?: unknown }).__heldStarted = resolve));
      const pending = executor.execute(makeRequest(mod, "held.ts", "held", [], { timeoutMs: 1000 }));
      const resume = await started;
      // No timer for the limit: an hour on the clock ends nothing.
      expect(clock.pending()).toEqual([]);
      await clock.advance(3_600_000);
      resume("resumed");
      expect(resultOf(await pending)).toBe("resumed");
    } finally {
      executor.close();
    }
  });

  it("calls to other endpoints carry no limit and are waited for without a deadline", async () => {
    expect(underInspector()).toBe(true);
    const sent: FunctionCall[] = [];
    const calls: FunctionClient = {
      call: async (call) => (sent.push(call), { value: "ok", logs: [], durationMs: 1 }),
      inFlight: 0,
      close: async () => {},
    };
    const mod: LoadedModule = { hash: "h", url: "file:///m.mjs", path: "/m.mjs", dependencies: { key: "none", specs: [] } };
    const dispatcher = createNestedDispatcher({ calls, moduleByUrl: () => mod, readCode: async () => "" });
    const callee = remote(new LiveServerless({ name: "callee", executionTimeoutMs: 2000 }), async () => 1);
    const request = makeRequest({ hash: "h", code: "" }, "m.ts", "caller", [], { timeoutMs: 0 });
    request.endpoints = { callee: { id: "ep-callee", name: "live-callee", kind: "QB" } };
    const ctx = { request, moduleUrl: mod.url, logs: new LogCollector(), signal: undefined, deadline: undefined };
    await callStorage.run(ctx, () =>
      dispatcher.call({ identity: { file: "m.ts", export: "callee", bundleUrl: mod.url }, meta: getRemoteMeta(callee)!, args: [] }),
    );
    expect(sent[0]).toMatchObject({ executionTimeoutMs: 0, waitMs: UNBOUNDED_WAIT_MS });
  });
});
