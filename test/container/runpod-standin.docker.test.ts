/**
 * A faithful stand-in for Runpod: `flash dev --runpod` against `flash emulator
 * --workers container --api-key K`. Every worker is a container of a stock
 * node:24-bookworm-slim, started with the endpoint's start command (the
 * bootstrap), with no flash-ts in it and no network beyond the emulator: the
 * runtime comes with the dev server's calls; the user's npm dependency and
 * Debian package come through the emulator's egress proxy, allowed to the
 * npm registry and the Debian mirror only (Runpod workers can reach both).
 *
 * The project has a QB function, an LB route with a path parameter, a class,
 * a pipeline calling two QB functions, a function with an npm `dependencies`
 * entry and one whose config has `systemDependencies`. Every call succeeds.
 * The same project on an image without node fails clearly.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkerContainerRuntime } from "../../src/container/container-runtime.js";
import { createDockerContainerRuntime } from "../../src/container/docker-container-runtime.js";
import { resolveDockerEndpoints } from "../../src/container/docker-endpoint.js";
import { LABELS } from "../../src/container/labels.js";
import { startDevProcess, type DevProcess } from "../helpers/dev-process.js";
import { dockerAvailability } from "./docker-available.js";
import { waitFor } from "./docker-helpers.js";
import { CLI } from "../helpers/processes.js";
import { NO_NODE_IMAGE, ensureWorkerImages } from "./worker-images.js";

const docker = await dockerAvailability();
const KEY = "rpa_STANDIN_0123456789abcdef";
const EGRESS = "registry.npmjs.org,deb.debian.org";

const FILES: Record<string, string> = {
  "package.json": JSON.stringify({ name: "standin", private: true, type: "module" }),
  "math.ts": `import { remote, CpuLiveServerless } from "flash-ts";
export const square = remote(new CpuLiveServerless({ name: "standin-square" }), async (input: { n: number }) => ({ square: input.n * input.n, node: process.version }));
export const double = remote(new CpuLiveServerless({ name: "standin-double" }), async (input: { n: number }) => ({ double: input.n * 2 }));
`,
  "api.ts": `import { remote, CpuLiveLoadBalancer } from "flash-ts";
import { square, double } from "./math";
const api = new CpuLiveLoadBalancer({ name: "standin-api" });
export const getItem = remote(api, { method: "GET", path: "/items/:id" }, async (q: { id: string; verbose?: string }) => ({ id: q.id, verbose: q.verbose ?? null }));
export const pipeline = remote(api, { method: "POST", path: "/pipeline" }, async (body: { n: number }) => {
  const a = await square({ n: body.n });
  const b = await double({ n: a.square });
  return { result: b.double, steps: [a.square, b.double] };
});
`,
  "counter.ts": `import { remote, CpuLiveServerless } from "flash-ts";
@remote(new CpuLiveServerless({ name: "standin-class" }))
export class Counter {
  total = 0;
  async add(input: { by: number }) {
    this.total += input.by;
    return { total: this.total };
  }
  async peek() {
    return { total: this.total };
  }
}
`,
  "deps.ts": `import { remote, CpuLiveServerless } from "flash-ts";
export const odd = remote(new CpuLiveServerless({ name: "standin-deps" }), { dependencies: ["is-odd@3.0.1"] }, async (input: { n: number }) => {
  const { default: isOdd } = await import("is-odd");
  return { n: input.n, odd: isOdd(input.n) };
});
`,
  "tools.ts": `import { remote, CpuLiveServerless } from "flash-ts";
const tools = new CpuLiveServerless({ name: "standin-apt", systemDependencies: ["jq"], executionTimeoutMs: 300000 });
export const viaJq = remote(tools, async (input: { json: string }) => {
  const { execFileSync } = await import("node:child_process");
  return { length: execFileSync("jq", ["length"], { input: input.json, encoding: "utf8" }).trim(), version: execFileSync("jq", ["--version"], { encoding: "utf8" }).trim() };
});
`,
};

describe.skipIf(!docker.available)("flash dev --runpod against the emulator with container workers", () => {
  let engine: WorkerContainerRuntime;
  let project: string;
  let stateDir: string;
  let emulator: ChildProcess;
  let emulatorOutput = "";
  let emulatorUrl: string;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    const [endpoint] = resolveDockerEndpoints({ env: process.env }).endpoints;
    engine = createDockerContainerRuntime(endpoint!);
    await ensureWorkerImages(engine);
    project = await mkdtemp(join(tmpdir(), "flash-standin-"));
    stateDir = await mkdtemp(join(tmpdir(), "flash-standin-emulator-"));
    for (const [name, text] of Object.entries(FILES)) await writeFile(join(project, name), text);
    // The key as a user keeps it (the test helper drops RUNPOD_API_KEY from the environment).
    await writeFile(join(project, ".env"), `RUNPOD_API_KEY=${KEY}\n`);
    emulator = spawn(process.execPath, [CLI, "emulator", "--workers", "container", "--api-key", KEY, "--worker-egress", EGRESS, "--state-dir", stateDir], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    emulator.stdout?.on("data", (c: Buffer) => (emulatorOutput += c.toString()));
    emulator.stderr?.on("data", (c: Buffer) => (emulatorOutput += c.toString()));
    emulatorUrl = await waitFor("the emulator to listen", () => /listening on (http:\/\/\S+)/.exec(emulatorOutput)?.[1], 30_000);
  }, 300_000);

  afterAll(async () => {
    await dev?.stop();
    if (emulator && emulator.exitCode === null) {
      emulator.kill("SIGINT");
      await new Promise((resolve) => emulator.once("exit", resolve));
    }
    // Nothing of this emulator is left in the engine.
    if (emulator?.pid) expect(await engine.listContainers({ [LABELS.ownerPid]: String(emulator.pid) })).toEqual([]);
    await rm(project, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  }, 120_000);

  const devEnv = (extra: Record<string, string> = {}) => ({ RUNPOD_API_BASE_URL: emulatorUrl, RUNPOD_ENDPOINT_BASE_URL: `${emulatorUrl}/v2`, ...extra });
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(dev!.url + path, { method, ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it("serves every kind of function from stock node:24-bookworm-slim containers", async () => {
    dev = await startDevProcess(project, ["--runpod"], devEnv());
    expect(dev.output()).toContain(`Backend: Runpod (${emulatorUrl})`);

    const qb = await call("POST", "/math/square/run_sync", { input: { n: 7 } });
    expect(qb.status, JSON.stringify(qb.body)).toBe(200);
    expect(qb.body).toMatchObject({ status: "COMPLETED", output: { square: 49, node: expect.stringMatching(/^v24\./) } });

    const lb = await call("GET", "/api/items/42?verbose=yes");
    expect(lb.status, JSON.stringify(lb.body)).toBe(200);
    expect(lb.body).toEqual({ id: "42", verbose: "yes" });

    const first = await call("POST", "/counter/add/run_sync", { input: { by: 2 } });
    const second = await call("POST", "/counter/add/run_sync", { input: { by: 3 } });
    // One instance per module version, kept on the worker between calls.
    expect([first.body, second.body]).toMatchObject([{ output: { total: 2 } }, { output: { total: 5 } }]);
    expect((await call("POST", "/counter/peek/run_sync", {})).body).toMatchObject({ output: { total: 5 } });

    const pipeline = await call("POST", "/api/pipeline", { n: 3 });
    expect(pipeline.status, JSON.stringify(pipeline.body)).toBe(200);
    expect(pipeline.body).toEqual({ result: 18, steps: [9, 18] });

    const deps = await call("POST", "/deps/run_sync", { input: { n: 3 } });
    expect(deps.status, JSON.stringify(deps.body)).toBe(200);
    expect(deps.body).toMatchObject({ output: { n: 3, odd: true } });

    const apt = await call("POST", "/tools/run_sync", { input: { json: "[1,2,3]" } });
    expect(apt.status, JSON.stringify(apt.body)).toBe(200);
    expect(apt.body).toMatchObject({ output: { length: "3", version: expect.stringMatching(/^jq-/) } });
    // apt's output is shown, prefixed with the endpoint.
    expect(dev.output()).toMatch(/\[live-standin-apt\] .*installing system packages: jq/);
    expect(dev.output()).toMatch(/\[live-standin-apt\] .*Setting up jq/);

    // Every worker was a container of the stock image, started with the bootstrap: the runtime came from flash dev.
    const workers = await engine.listContainers({ [LABELS.role]: "emulator-worker", [LABELS.ownerPid]: String(emulator.pid) });
    expect(workers.length).toBeGreaterThanOrEqual(6);
    expect(emulatorOutput).toMatch(/workers run as containers of node:24-bookworm-slim running `node -e '/);
    expect(emulatorOutput).toMatch(/took over from the bootstrap/);
    // The only outside hosts workers reached: the npm registry (is-odd) and the Debian mirror (jq).
    const reached = [...emulatorOutput.matchAll(/worker egress: (\S+)/g)].map((m) => m[1]!.replace(/:\d+$/, "").replace(/^http:\/\//, ""));
    expect(new Set(reached)).toEqual(new Set(["registry.npmjs.org", "deb.debian.org"]));
    expect(emulatorOutput).not.toContain(KEY);
  }, 600_000);

  it("the same project on an image without node fails each call clearly (502 with a hint), never hanging", async () => {
    await dev?.stop();
    dev = await startDevProcess(project, ["--runpod"], devEnv({ FLASH_CPU_IMAGE: NO_NODE_IMAGE }));
    const res = await call("POST", "/math/square/run_sync", { input: { n: 7 } });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({
      error: {
        code: "WORKER_UNREACHABLE",
        message: expect.stringContaining(`the image ${NO_NODE_IMAGE} cannot run the start command`),
        hint: expect.stringMatching(/Node\.js 22 or newer/),
      },
    });
    // The endpoint was updated in place for the new image, not duplicated.
    const list = (await (await fetch(`${emulatorUrl}/v2/serverless`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { endpoints: { name: string; image: string }[] };
    const squares = list.endpoints.filter((e) => e.name === "live-standin-square");
    expect(squares).toHaveLength(1);
    expect(squares[0]?.image).toBe(NO_NODE_IMAGE);
  }, 300_000);
});
