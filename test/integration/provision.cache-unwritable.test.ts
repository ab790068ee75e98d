/**
 * A created endpoint is never forgotten, through the real CLI and the real
 * emulator: with `.runpod/resources.json` unwritable (a folder in its place,
 * or its lock held by another live process), many calls, concurrent and in
 * sequence, and a restart, leave exactly one endpoint on the emulator; once
 * the cache can be written, the endpoint is recorded.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../src/common/package-info.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";

/** The built code of the package under test (the source package the global setup made). */
const DIST = join(PACKAGE_ROOT, "dist");

let dir: string;
let dev: DevProcess | undefined;
let holder: ChildProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-unwritable-"));
  await writeFile(
    join(dir, "echo.ts"),
    `import { remote, CpuLiveServerless } from "flash-ts";
export const run = remote(new CpuLiveServerless({ name: "echo", workersMax: 2 }), async (input: { n?: number }) => ({ n: input?.n ?? 0 }));
`,
  );
  await mkdir(join(dir, ".runpod"));
});
afterEach(async () => {
  await dev?.stop();
  dev = undefined;
  holder?.kill("SIGKILL");
  holder = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** The endpoints on the embedded emulator, from its state file (its API takes a key only the dev server knows). */
async function emulatorEndpoints(): Promise<{ id: string; name: string }[]> {
  const text = await readFile(join(dir, ".runpod", "emulator", "emulator-state.json"), "utf8").catch(() => undefined);
  if (text === undefined) return [];
  const state = JSON.parse(text) as { endpoints: { endpoint: { id: string; name: string } }[] };
  return state.endpoints.map(({ endpoint }) => ({ id: endpoint.id, name: endpoint.name }));
}

async function call(d: DevProcess, n: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${d.url}/echo/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { n } }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Calls concurrently, then in sequence; every one must succeed. */
async function manyCalls(d: DevProcess, from: number): Promise<void> {
  const concurrent = await Promise.all([0, 1, 2, 3].map((i) => call(d, from + i)));
  const sequential = [];
  for (let i = 4; i < 7; i++) sequential.push(await call(d, from + i));
  for (const [i, r] of [...concurrent, ...sequential].entries()) expect(r, `call ${i}`).toMatchObject({ status: 200, body: { output: { n: from + i } } });
}

async function cachedIds(): Promise<string[]> {
  const text = await readFile(join(dir, ".runpod", "resources.json"), "utf8").catch(() => undefined);
  if (text === undefined) return [];
  return Object.values((JSON.parse(text) as { endpoints: Record<string, { id: string }> }).endpoints).map((e) => e.id);
}

/** A live process holding the cache's lock (through the real lock), until killed. */
async function holdCacheLock(): Promise<ChildProcess> {
  const script = `const { acquireLock } = await import(${JSON.stringify(`${DIST}/common/lock.js`)});
await acquireLock(${JSON.stringify(join(dir, ".runpod", "resources.json.lock"))});
process.stdout.write("held\\n");
setInterval(() => {}, 1 << 30);`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((held, fail) => {
    child.stdout.once("data", () => held());
    child.once("exit", (code) => fail(new Error(`the lock holder exited (${code})`)));
  });
  return child;
}

describe("a cache that cannot be written", () => {
  it("(a folder in its place) leaves exactly one endpoint across many calls and a restart", async () => {
    await mkdir(join(dir, ".runpod", "resources.json"));
    dev = await startDevProcess(dir);
    await manyCalls(dev, 0);
    expect(dev.output()).toMatch(/live-echo \(\w+\) could not be recorded in .*resources\.json/);
    expect(await dev.stop()).toBe(0);

    dev = await startDevProcess(dir);
    await manyCalls(dev, 100);
    expect(dev.output()).toMatch(/Reusing live-echo \(\w+\) found on the provider/);
    expect(dev.output()).not.toMatch(/Provisioned live-echo/);
    expect(await dev.stop()).toBe(0);
    const endpoints = await emulatorEndpoints();
    expect(endpoints.map((e) => e.name)).toEqual(["live-echo"]);
  });

  it("(its lock held by another live process) answers every call, creates once, and records the endpoint once the lock is free", async () => {
    holder = await holdCacheLock();
    dev = await startDevProcess(dir);
    await manyCalls(dev, 0);
    expect(dev.output().match(/Provisioned live-echo/g)).toHaveLength(1);
    expect(await cachedIds()).toEqual([]);
    let endpoints: { id: string; name: string }[] = [];
    await waitFor("the emulator to save its endpoints", async () => (endpoints = await emulatorEndpoints()).length > 0);
    expect(endpoints.map((e) => e.name)).toEqual(["live-echo"]);

    holder.kill("SIGKILL");
    holder = undefined;
    // The write that was waiting for the lock takes it at once (its holder is gone) and records the endpoint.
    await waitFor("the endpoint to be recorded", async () => (await cachedIds()).length > 0, 20_000);
    expect(await cachedIds()).toEqual([endpoints[0]!.id]);
    await manyCalls(dev, 100);
    expect(await emulatorEndpoints()).toEqual(endpoints);
  });
});
