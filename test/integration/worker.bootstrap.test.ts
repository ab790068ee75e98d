/**
 * The bootstrap end to end: `node -e <the start command's script>` as a real
 * process against a fake platform (queue mode) or as an HTTP server
 * (load-balanced mode). It must answer runtime-missing without the runtime,
 * take the runtime that comes with a request, check it, run the request on
 * it and hand the process over; use a runtime already in its cache; refuse
 * a Node.js that is too old for every call; and retire when a caller runs
 * another runtime.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { findFreePort } from "../../src/common/ports.js";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseFunctionResponse } from "../../src/common/function-protocol.js";
import type { FunctionRequest, RuntimeRef } from "../../src/common/function-protocol.js";
import { readPackageVersion } from "../../src/common/package-info.js";
import { bootstrapScript } from "../../src/worker/bootstrap/start-command.js";
import { PACKAGED_RUNTIME_FILE, loadRuntimeSource } from "../../src/worker/runtime-source.js";
import type { RuntimeSource } from "../../src/worker/runtime-source.js";
import { FakePlatform } from "../helpers/fake-platform.js";
import { bundle, makeRequest, resultOf, tempDir, unique } from "../helpers/worker-bundles.js";

let platform: FakePlatform;
let cache: { path: string; remove: () => Promise<void> };
let runtime: RuntimeSource;
const children = new Set<ChildProcess>();

beforeAll(() => {
  runtime = loadRuntimeSource(PACKAGED_RUNTIME_FILE, readPackageVersion());
});
beforeEach(async () => {
  platform = await new FakePlatform({ holdMs: 300 }).start();
  cache = await tempDir();
});
afterEach(async () => {
  await Promise.all([...children].map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : (c.once("exit", () => resolve()), c.kill("SIGKILL"))))));
  children.clear();
  await platform.close();
  await cache.remove();
});

interface Started {
  child: ChildProcess;
  exited: Promise<number | string>;
  stderr(): string;
}

function startBootstrap(env: Record<string, string>, execArgv: string[] = []): Started {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1" };
  const child = spawn(process.execPath, [...execArgv, "-e", bootstrapScript()], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? "?")));
  return { child, exited, stderr: () => stderr };
}

const mod = bundle(`import { remote, CpuLiveServerless } from "flash-ts";\n// ${unique()}\nconst cpu = new CpuLiveServerless({ name: "boot" });\nexport const add = remote(cpu, async (a, b) => ({ sum: a + b, node: process.version }));`, "add.ts", ["add"]);

async function call(args: unknown[], ref: RuntimeRef | undefined, id = `job-${unique()}`): Promise<{ body: Record<string, unknown> }> {
  const request: FunctionRequest = { ...makeRequest(mod, "add.ts", "add", args), ...(ref ? { runtime: ref } : {}) };
  platform.enqueue({ id, input: request });
  return platform.waitForResult(id, 30_000);
}

describe("the bootstrap in queue mode", () => {
  it("asks for the runtime, takes it with the next job, runs that job on it and hands the worker over", async () => {
    const worker = startBootstrap(platform.env({ FLASH_WORKER_CACHE: cache.path }));
    const missing = parseFunctionResponse((await call([1, 2], await runtime.ref(false))).body.output);
    expect(!missing.ok && missing.error.kind).toBe("runtime-missing");

    const first = await call([2, 3], await runtime.ref(true));
    expect(resultOf(parseFunctionResponse(first.body.output))).toEqual({ sum: 5, node: process.version });
    const again = await call([4, 5], await runtime.ref(false));
    expect(resultOf(parseFunctionResponse(again.body.output))).toEqual({ sum: 9, node: process.version });
    // The runtime pings now, with its own version.
    await platform.waitFor(() => platform.pings.some((p) => p.get("runpod_version") === runtime.version), "a ping from the runtime");
    expect(worker.stderr()).toMatch(/took over from the bootstrap/);

    // It is cached by hash: written once, byte for byte.
    expect(await readFile(join(cache.path, "runtimes", runtime.hash.slice(0, 16), "runtime.mjs"))).toEqual(await readFile(PACKAGED_RUNTIME_FILE));
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("uses a runtime already in its cache without asking for it", async () => {
    const warmup = startBootstrap(platform.env({ FLASH_WORKER_CACHE: cache.path }));
    await call([1, 1], await runtime.ref(true));
    warmup.child.kill("SIGTERM");
    await warmup.exited;
    const worker = startBootstrap(platform.env({ FLASH_WORKER_CACHE: cache.path, RUNPOD_POD_ID: "worker-2" }));
    expect(resultOf(parseFunctionResponse((await call([20, 22], await runtime.ref(false))).body.output))).toEqual({ sum: 42, node: process.version });
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
  });

  it("fails jobs that are not function calls, and a runtime that does not match its hash", async () => {
    startBootstrap(platform.env({ FLASH_WORKER_CACHE: cache.path }));
    platform.enqueue({ id: "plain", input: { prompt: "hi" } });
    expect((await platform.waitForResult("plain")).body).toEqual({ error: expect.stringMatching(/not a flash-ts function request/) });
    const forged = { ...(await runtime.ref(true)), hash: "0".repeat(64) };
    const answer = parseFunctionResponse((await call([1, 2], forged)).body.output);
    expect(!answer.ok && answer.error).toMatchObject({ kind: "runtime", name: "RuntimeHashMismatch" });
  });

  it("answers every call with unsupported-worker, naming the image, when Node.js is too old", async () => {
    const fake = join(cache.path, "old-node.cjs");
    await writeFile(fake, `Object.defineProperty(process.versions, "node", { value: "18.19.0" }); Object.defineProperty(process, "version", { value: "v18.19.0" });\n`);
    startBootstrap(platform.env({ FLASH_WORKER_CACHE: cache.path, FLASH_WORKER_IMAGE: "node:18-bookworm-slim" }), ["--require", fake]);
    for (const withCode of [true, false]) {
      const answer = parseFunctionResponse((await call([1, 2], await runtime.ref(withCode))).body.output);
      expect(!answer.ok && answer.error).toMatchObject({ kind: "unsupported-worker", message: "the image node:18-bookworm-slim has Node.js v18.19.0; flash-ts workers need Node.js 22 or newer" });
    }
  });

  it("retires, after answering runtime-mismatch, when a caller runs another runtime build", async () => {
    const worker = startBootstrap(platform.env({ FLASH_WORKER_CACHE: cache.path }));
    await call([1, 2], await runtime.ref(true));
    const other = { version: runtime.version, hash: "f".repeat(64) };
    const result = await call([1, 2], other);
    const answer = parseFunctionResponse(result.body.output);
    expect(!answer.ok && answer.error).toMatchObject({ kind: "runtime-mismatch", message: expect.stringMatching(/this worker runs flash-ts .*runtime [0-9a-f]{12}.*the caller runs/) });
    expect(result.body.stopPod).toBe(true);
    expect(await worker.exited).toBe(0);
  });
});

async function freePort(): Promise<number> {
  return (await findFreePort("127.0.0.1")).port;
}

describe("the bootstrap in load-balanced mode", () => {
  it("is healthy at once, takes the runtime with the first /execute (concurrent ones wait for it), then serves on the runtime", async () => {
    const port = await freePort();
    const worker = startBootstrap({ PORT: String(port), FLASH_WORKER_HOST: "127.0.0.1", FLASH_WORKER_CACHE: cache.path });
    const base = `http://127.0.0.1:${port}`;
    const health = await pollFetch(`${base}/ping`);
    expect(health.status).toBe(200);
    const execute = async (args: unknown[], ref: RuntimeRef) =>
      parseFunctionResponse(await (await fetch(`${base}/execute`, { method: "POST", body: JSON.stringify({ ...makeRequest(mod, "add.ts", "add", args), runtime: ref }) })).json());
    const missing = await execute([1, 1], await runtime.ref(false));
    expect(!missing.ok && missing.error.kind).toBe("runtime-missing");
    const [a, b] = await Promise.all([execute([1, 2], await runtime.ref(true)), execute([3, 4], await runtime.ref(true))]);
    expect([resultOf(a), resultOf(b)]).toEqual([
      { sum: 3, node: process.version },
      { sum: 7, node: process.version },
    ]);
    expect(resultOf(await execute([5, 5], await runtime.ref(false)))).toEqual({ sum: 10, node: process.version });
    expect((await fetch(`${base}/ping`)).status).toBe(200);
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
  });
});

/** Fetches until the server answers (it is starting). */
async function pollFetch(url: string): Promise<Response> {
  for (let i = 0; ; i++) {
    try {
      return await fetch(url);
    } catch (error) {
      if (i > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
