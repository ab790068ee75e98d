import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DependencySet } from "../../../src/worker/dependency-installer.js";
import { createExecutor } from "../../../src/worker/execute.js";
import type { Executor } from "../../../src/worker/execute.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { bundle, makeRequest, resultOf, tempDir, unique } from "../../helpers/worker-bundles.js";

let cache: { path: string; remove: () => Promise<void> };
let executor: Executor;

beforeAll(async () => {
  cache = await tempDir();
  executor = createExecutor({ cacheDir: cache.path });
  await executor.prepare();
});
afterAll(async () => {
  executor.close();
  await cache.remove();
});

const header = `import { remote, CpuLiveServerless } from "flash-ts";\nconst cpu = new CpuLiveServerless({ name: "cpu" });\n`;

describe("executing functions", () => {
  it("calls the user's function with decoded arguments and encodes the result", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const add = remote(cpu, async (a, b) => a + b);`, "math.ts", ["add"]);
    const response = await executor.execute(makeRequest(mod, "math.ts", "add", [2, 3]));
    expect(resultOf(response)).toBe(5);
    expect(response.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("round-trips Date, Buffer, Map, Set and BigInt both ways", async () => {
    const mod = bundle(
      `${header}// ${unique()}
export const echo = remote(cpu, async (v) => ({
  v,
  types: [v.date instanceof Date, Buffer.isBuffer(v.buf), v.map instanceof Map, v.set instanceof Set, typeof v.big],
  next: { date: new Date(v.date.getTime() + 1000), big: v.big * 2n, map: new Map([...v.map, ["k2", 2]]), set: new Set([...v.set, 3]), buf: Buffer.concat([v.buf, Buffer.from([9])]) },
}));`,
      "echo.ts",
      ["echo"],
    );
    const value = { date: new Date("2024-01-02T03:04:05.000Z"), buf: Buffer.from([1, 2, 3]), map: new Map([["k", 1]]), set: new Set([1, 2]), big: 12345678901234567890n };
    const result = resultOf(await executor.execute(makeRequest(mod, "echo.ts", "echo", [value]))) as {
      v: typeof value;
      types: unknown[];
      next: { date: Date; big: bigint; map: Map<string, number>; set: Set<number>; buf: Buffer };
    };
    expect(result.types).toEqual([true, true, true, true, "bigint"]);
    expect(result.v).toEqual(value);
    expect(result.next.date).toEqual(new Date("2024-01-02T03:04:06.000Z"));
    expect(result.next.big).toBe(24691357802469135780n);
    expect(result.next.map).toEqual(new Map([["k", 1], ["k2", 2]]));
    expect(result.next.set).toEqual(new Set([1, 2, 3]));
    expect(Buffer.isBuffer(result.next.buf) && [...result.next.buf]).toEqual([1, 2, 3, 9]);
  });

  it("answers module-missing for an unknown hash without code, then runs once the code is sent", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const one = remote(cpu, async () => 1);`, "one.ts", ["one"]);
    const missing = await executor.execute(makeRequest(mod, "one.ts", "one", [], { withCode: false }));
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.error.kind).toBe("module-missing");
    expect(resultOf(await executor.execute(makeRequest(mod, "one.ts", "one")))).toBe(1);
    // Known now: no code needed.
    expect(resultOf(await executor.execute(makeRequest(mod, "one.ts", "one", [], { withCode: false })))).toBe(1);
  });

  it("loads a module another worker process wrote to the shared cache", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const two = remote(cpu, async () => 2);`, "two.ts", ["two"]);
    expect(resultOf(await executor.execute(makeRequest(mod, "two.ts", "two")))).toBe(2);
    const other = createExecutor({ cacheDir: cache.path });
    try {
      // A fresh executor has nothing in memory but finds (and re-verifies) the file.
      expect(resultOf(await other.execute(makeRequest(mod, "two.ts", "two", [], { withCode: false })))).toBe(2);
    } finally {
      other.close();
    }
  });

  it("refuses code whose sha256 is not the hash", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const x = remote(cpu, async () => 1);`, "x.ts", ["x"]);
    const request = makeRequest({ hash: "0".repeat(64), code: mod.code }, "x.ts", "x");
    const response = await executor.execute(request);
    expect(response.ok).toBe(false);
    expect(!response.ok && response.error).toMatchObject({ kind: "load", name: "ModuleHashMismatch" });
  });

  it("reports an unknown target or method as a load error", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const f = remote(cpu, async () => 1);`, "f.ts", ["f"]);
    const unknown = await executor.execute(makeRequest(mod, "f.ts", "nope"));
    expect(!unknown.ok && unknown.error).toMatchObject({ kind: "load", message: expect.stringContaining("f.ts#nope") });
    const method = await executor.execute(makeRequest(mod, "f.ts", "f", [], { method: "run" }));
    expect(!method.ok && method.error.kind).toBe("load");
  });

  it("reports a module that fails to load", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const f = remote(cpu, async () => 1);\nthrow new Error("top-level failure");`, "bad.ts", ["f"]);
    const response = await executor.execute(makeRequest(mod, "bad.ts", "f"));
    expect(!response.ok && response.error).toMatchObject({ kind: "load", message: expect.stringContaining("top-level failure") });
  });

  it("keeps class instances by id and calls only exposed methods", async () => {
    const mod = bundle(
      `${header}// ${unique()}
class CounterImpl {
  constructor(start) { this.count = start; }
  async add(n) { this.count += n; return this.count; }
}
export const Counter = remote(cpu)(CounterImpl, { kind: "class" });`,
      "counter.ts",
      ["Counter"],
    );
    const call = (id: string, n: number, start = 10) => executor.execute(makeRequest(mod, "counter.ts", "Counter", [n], { method: "add", instance: { id, args: [start] } }));
    expect(resultOf(await call("a", 1))).toBe(11);
    expect(resultOf(await call("a", 5))).toBe(16);
    expect(resultOf(await call("b", 1, 100))).toBe(101);
    const bad = await executor.execute(makeRequest(mod, "counter.ts", "Counter", [], { method: "constructor", instance: { id: "a", args: [] } }));
    expect(!bad.ok && bad.error.kind).toBe("load");
  });

  it("returns the user's error with name, message and stack", async () => {
    const mod = bundle(
      `${header}// ${unique()}\nclass BadInput extends Error { constructor(m) { super(m); this.name = "BadInput"; } }\nexport const fail = remote(cpu, async (x) => { throw new BadInput("bad " + x); });`,
      "fail.ts",
      ["fail"],
    );
    const response = await executor.execute(makeRequest(mod, "fail.ts", "fail", [7]));
    expect(response.ok).toBe(false);
    if (response.ok) return;
    expect(response.error).toMatchObject({ kind: "function", name: "BadInput", message: "bad 7" });
    expect(response.error.stack).toContain("BadInput: bad 7");
    // No frames of the runtime itself, and no cache paths.
    expect(response.error.stack).not.toMatch(/src\/worker\/|dist\/worker\//);
    expect(response.error.stack).not.toContain(cache.path);
  });

  it("answers kind timeout when the function outlives timeoutMs", async () => {
    const clock = new FakeClock();
    const timed = createExecutor({ cacheDir: cache.path, installDispatcher: false, clock });
    try {
      const mod = bundle(`${header}// ${unique()}\nexport const slow = remote(cpu, () => new Promise(() => {}));`, "slow.ts", ["slow"]);
      const pending = timed.execute(makeRequest(mod, "slow.ts", "slow", [], { timeoutMs: 60_000 }));
      await clock.sleepingFor(60_000);
      await clock.advance(59_999);
      expect(clock.pending()).toEqual([60_000]);
      await clock.advance(1);
      const response = await pending;
      expect(!response.ok && response.error).toMatchObject({ kind: "timeout", name: "TimeoutError" });
    } finally {
      timed.close();
    }
  });

  it("stops waiting when the signal is aborted", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const hang = remote(cpu, () => { globalThis.__hangStarted(); return new Promise(() => {}); });`, "hang.ts", ["hang"]);
    const started = new Promise<void>((resolve) => ((globalThis as { __hangStarted?: () => void }).__hangStarted = resolve));
    const controller = new AbortController();
    const pending = executor.execute(makeRequest(mod, "hang.ts", "hang"), { signal: controller.signal });
    // An answer before the function started (a load error) fails here at once instead of waiting for the test timeout.
    await Promise.race([started, pending.then((r) => Promise.reject(new Error(`answered before the function started: ${JSON.stringify(r)}`)))]);
    controller.abort();
    const response = await pending;
    expect(!response.ok && response.error.name).toBe("AbortError");
    // Already aborted: the function does not even start.
    const again = await executor.execute(makeRequest(mod, "hang.ts", "hang"), { signal: controller.signal });
    expect(!again.ok && again.error.name).toBe("AbortError");
  });

  it("fails a result that cannot be encoded as a function error", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const fn = remote(cpu, async () => ({ f() {} , s: Symbol("x"), g: () => 1, ok: 1, bad: [() => 1] }));`, "enc.ts", ["fn"]);
    const response = await executor.execute(makeRequest(mod, "enc.ts", "fn"));
    expect(!response.ok && response.error).toMatchObject({ kind: "function", name: "ValueCodecError" });
  });

  it("rejects malformed encoded arguments as a runtime error", async () => {
    const mod = bundle(`${header}// ${unique()}\nexport const id = remote(cpu, async (x) => x);`, "id.ts", ["id"]);
    const request = makeRequest(mod, "id.ts", "id");
    request.args = [{ $flash: "nonsense", v: 1 }];
    const response = await executor.execute(request);
    expect(!response.ok && response.error.kind).toBe("runtime");
  });
});

describe("closing", () => {
  let local: Executor | undefined;
  afterEach(() => local?.close());

  it("refuses work after close()", async () => {
    local = createExecutor({ cacheDir: cache.path });
    local.close();
    local.close();
    const mod = bundle(`${header}// ${unique()}\nexport const f = remote(cpu, async () => 1);`, "c.ts", ["f"]);
    const response = await local.execute(makeRequest(mod, "c.ts", "f"));
    expect(!response.ok && response.error.kind).toBe("runtime");
  });
});

describe("preparing", () => {
  let local: Executor | undefined;
  let fresh: { path: string; remove: () => Promise<void> } | undefined;
  afterEach(async () => {
    local?.close();
    await fresh?.remove();
  });

  it("waits for a preparation already under way before loading the module", async () => {
    fresh = await tempDir();
    const cacheDir = fresh.path;
    // The installer runs first in a module load; it notes whether the cache was prepared by then.
    const preparedAtInstall: boolean[] = [];
    const installer = {
      async ensure(set: DependencySet) {
        preparedAtInstall.push(existsSync(join(cacheDir, "node_modules", "flash-ts")));
        return { dir: join(cacheDir, "deps", set.key), installed: false };
      },
    };
    local = createExecutor({ cacheDir, installer, installDispatcher: false });
    // As the worker does at start: warm up without waiting, then a job arrives at once.
    const warming = local.prepare();
    const mod = bundle(`${header}// ${unique()}\nexport const f = remote(cpu, async () => 7);`, "p.ts", ["f"]);
    const response = await local.execute(makeRequest(mod, "p.ts", "f"));
    await warming;
    expect(resultOf(response)).toBe(7);
    expect(preparedAtInstall).toEqual([true]);
  });
});
