/**
 * Errors of function calls read as the README says (issue 7 item 14), through
 * the real dev server, embedded emulator and workers: a worker that dies
 * mid-call is WORKER_CRASHED (LB and QB, also for a nested call), a failed job
 * is classified by its status rather than its text, thrown non-Errors read
 * the same locally and remotely, and values that cannot be sent are named.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";

const files: Record<string, string> = {
  "errs.ts": `import { writeFileSync } from "node:fs";
import { remote, CpuLiveServerless, CpuLiveLoadBalancer } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "errs" });
const other = new CpuLiveServerless({ name: "errs-other" });
const doomedQb = new CpuLiveServerless({ name: "doomed-qb" });
const doomedInner = new CpuLiveServerless({ name: "doomed-inner" });
const doomedLb = new CpuLiveLoadBalancer({ name: "doomed-lb" });
const broken = new CpuLiveServerless({ name: "broken", env: { FLASH_WORKER_CACHE: "/dev/null/no-cache-here" } });

export const throwNull = remote(cpu, async () => { throw null; });
export const throwObject = remote(cpu, async () => { throw { code: 42 }; });
export const throwNullLocal = remote(cpu, { local: true }, async () => { throw null; });
export const throwObjectLocal = remote(cpu, { local: true }, async () => { throw { code: 42 }; });
export const returnsFunction = remote(cpu, async () => ({ callback: () => 1 }));
export const returnsSymbol = remote(cpu, async () => ({ tag: Symbol("x") }));
export const returnsFunctionLocal = remote(cpu, { local: true }, async () => ({ callback: () => 1 }));
export const echo = remote(other, async (x: unknown) => x);
export const sendsFunction = remote(cpu, async () => echo({ onDone: () => 1 }));
export const hangs = remote(doomedQb, async (input: { pidFile: string }) => {
  writeFileSync(input.pidFile, String(process.pid));
  return new Promise(() => {});
});
export const hangsLb = remote(doomedLb, { method: "POST", path: "/hang" }, async (body: { pidFile: string }) => {
  writeFileSync(body.pidFile, String(process.pid));
  return new Promise(() => {});
});
export const dies = remote(doomedInner, async () => {
  process.kill(process.pid, "SIGKILL");
  return new Promise(() => {});
});
export const catchesDeath = remote(cpu, async () => {
  try {
    await dies();
    return { code: null };
  } catch (error) {
    return { code: (error as { code?: string }).code ?? null };
  }
});
export const neverStarts = remote(broken, async () => 1);
function explode(): never {
  throw new RangeError("exploded");
}
export const throwsError = remote(cpu, async () => explode());
export const throwsErrorLocal = remote(cpu, { local: true }, async () => explode());
const shortLimit = new CpuLiveServerless({ name: "short-limit", executionTimeoutMs: 1500 });
export const neverLocal = remote(shortLimit, { local: true }, () => new Promise(() => {}));
`,
};

let dir: string;
let dev: DevProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-call-errors-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  dev = await startDevProcess(dir);
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; json: { error?: Record<string, unknown>; output?: unknown } & Record<string, unknown> }> {
  const res = await fetch(dev.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { error?: Record<string, unknown> } };
}

/** The parts of an error body that must not depend on where the function ran. */
function comparable(error: Record<string, unknown> | undefined): Record<string, unknown> {
  const { code, message, name, thrown } = error ?? {};
  return { code, message, name, thrown };
}

/** Calls a function that hangs after writing its worker's pid, kills that worker, and returns the answer. */
async function killMidCall(path: string, body: (pidFile: string) => unknown): Promise<{ status: number; json: { error?: Record<string, unknown> } }> {
  const pidFile = join(dir, `pid-${Math.random().toString(36).slice(2)}`);
  const answer = post(path, body(pidFile));
  let pid = 0;
  await waitFor("the worker's pid", async () => (pid = Number(await readFile(pidFile, "utf8").catch(() => "0"))) > 0, 60_000);
  process.kill(pid, "SIGKILL");
  return answer;
}

describe("a worker that dies mid-call", () => {
  it("LB: 502 WORKER_CRASHED (not WORKER_UNREACHABLE)", async () => {
    const res = await killMidCall("/errs/hang", (pidFile) => ({ pidFile }));
    expect(res.status).toBe(502);
    expect(res.json.error).toMatchObject({ code: "WORKER_CRASHED", endpoint: "live-doomed-lb" });
  });

  it("QB: 502 WORKER_CRASHED", async () => {
    const res = await killMidCall("/errs/hangs/run_sync", (pidFile) => ({ input: { pidFile } }));
    expect(res.status).toBe(502);
    expect(res.json.error).toMatchObject({ code: "WORKER_CRASHED", endpoint: "live-doomed-qb" });
  });

  it("a nested call whose worker dies rejects with WORKER_CRASHED in the calling function", async () => {
    const res = await post("/errs/catchesDeath/run_sync", { input: {} });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.output).toEqual({ code: "WORKER_CRASHED" });
  });

  it("a failed job is classified by its status, not its text: a worker that cannot set itself up → 502 WORKER_CRASHED", async () => {
    // Its cache folder cannot be made: the bootstrap takes the job, then dies writing the runtime.
    const res = await post("/errs/neverStarts/run_sync", { input: {} });
    expect(res.status, JSON.stringify(res.json)).toBe(502);
    expect(res.json.error).toMatchObject({ code: "WORKER_CRASHED", endpoint: "live-broken", message: expect.stringMatching(/exited with code 1/) });
  });
});

describe("thrown values that are not Errors", () => {
  it("throw null reads the same locally and remotely", async () => {
    const remote = await post("/errs/throwNull/run_sync", { input: {} });
    const local = await post("/errs/throwNullLocal/run_sync", { input: {} });
    expect(remote.status).toBe(500);
    expect(local.status).toBe(500);
    expect(comparable(remote.json.error)).toEqual(comparable(local.json.error));
    expect(remote.json.error).toMatchObject({ code: "FUNCTION_ERROR", message: expect.stringContaining("null"), thrown: null });
  });

  it("throw {code: 42} gives a readable message and the value in details, locally and remotely", async () => {
    const remote = await post("/errs/throwObject/run_sync", { input: {} });
    const local = await post("/errs/throwObjectLocal/run_sync", { input: {} });
    expect(remote.status).toBe(500);
    expect(comparable(remote.json.error)).toEqual(comparable(local.json.error));
    expect(remote.json.error).toMatchObject({ code: "FUNCTION_ERROR", message: expect.stringContaining('{"code":42}'), thrown: { code: 42 } });
    expect(String(remote.json.error?.message)).not.toContain("[object Object]");
  });
});

describe("errors thrown by functions", () => {
  it("read the same locally and remotely, with a stack in the user's file and none of the runtime's frames", async () => {
    const remote = await post("/errs/throwsError/run_sync", { input: {} });
    const local = await post("/errs/throwsErrorLocal/run_sync", { input: {} });
    expect(comparable(remote.json.error)).toEqual(comparable(local.json.error));
    for (const res of [remote, local]) {
      expect(res.status).toBe(500);
      expect(res.json.error).toMatchObject({ code: "FUNCTION_ERROR", name: "RangeError", message: "exploded", stack: expect.stringMatching(/at explode \(errs\.ts:\d+:\d+\)/) });
      expect(String(res.json.error?.stack)).not.toMatch(/dist\/|src\/(worker|calls|dev)|execute\.js|node:internal/);
    }
  });
});

describe("local functions run with a worker's limits", () => {
  it("a local function that never returns is cut at its executionTimeoutMs with 504", async () => {
    const res = await post("/errs/neverLocal/run_sync", { input: {} });
    expect(res.status, JSON.stringify(res.json)).toBe(504);
    expect(res.json.error).toMatchObject({ code: "FUNCTION_TIMEOUT", local: true });
  });
});

describe("values that cannot be sent", () => {
  it("a returned function is an error naming its path (remote and local)", async () => {
    for (const path of ["/errs/returnsFunction/run_sync", "/errs/returnsFunctionLocal/run_sync"]) {
      const res = await post(path, { input: {} });
      expect(res.status, `${path}: ${JSON.stringify(res.json)}`).toBe(500);
      expect(res.json.error).toMatchObject({ code: "FUNCTION_ERROR", message: expect.stringContaining("result.callback is a function, which cannot be sent") });
    }
  });

  it("a returned symbol is an error naming its path", async () => {
    const res = await post("/errs/returnsSymbol/run_sync", { input: {} });
    expect(res.status).toBe(500);
    expect(res.json.error).toMatchObject({ message: expect.stringContaining("result.tag is a symbol, which cannot be sent") });
  });

  it("a function passed to a remote function is an error naming the argument", async () => {
    const res = await post("/errs/sendsFunction/run_sync", { input: {} });
    expect(res.status, JSON.stringify(res.json)).toBe(500);
    expect(res.json.error).toMatchObject({ message: expect.stringContaining("arguments[0].onDone is a function, which cannot be sent") });
  });
});
