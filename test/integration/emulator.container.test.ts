/**
 * The emulator with container workers, through a real Docker engine: each
 * worker is a container of its endpoint's image started with its `args` as
 * Runpod does, on an internal network where it reaches the emulator (and the
 * egress proxy) only. Flash functions run on the bootstrap start command in
 * a stock node:24-bookworm-slim; the faults fail jobs clearly (an image the
 * engine lacks, an image without node, a Node.js too old, workers that keep
 * exiting); scaling, idle stop, cancel and load-balanced routing work as with
 * process workers; and no container or network is left behind, even after
 * the emulator is killed.
 */
import { spawn } from "node:child_process";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WorkerContainerRuntime } from "../../src/container/container-runtime.js";
import { createDockerContainerRuntime } from "../../src/container/docker-container-runtime.js";
import { resolveDockerEndpoints } from "../../src/container/docker-endpoint.js";
import { LABELS } from "../../src/container/labels.js";
import { createHttpClient, createJobClient, createLoadBalancerClient, loadBalancerBaseUrl } from "../../src/runpod/index.js";
import { WORKER_START_FAILED, parseJobError } from "../../src/runpod/wire-types.js";
import type { JobState } from "../../src/runpod/wire-types.js";
import { parseFunctionResponse } from "../../src/common/function-protocol.js";
import { readPackageVersion } from "../../src/common/package-info.js";
import { bootstrapStartCommand } from "../../src/worker/bootstrap/start-command.js";
import { RuntimeDelivery } from "../../src/calls/runtime-delivery.js";
import { PACKAGED_RUNTIME_FILE, loadRuntimeSource } from "../../src/worker/runtime-source.js";
import { dockerAvailability } from "../container/docker-available.js";
import { BASE_IMAGE, NO_NODE_IMAGE, OLD_NODE_IMAGE, ensureWorkerImages } from "../container/worker-images.js";
import { useEmulator, type TestEmulator } from "../helpers/emulator.js";
import { CLI } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { REPO_ROOT, copyProject, removeProject, startDevProcess } from "../helpers/dev-process.js";
import { bundle, makeRequest, resultOf, unique } from "../helpers/worker-bundles.js";

const docker = await dockerAvailability();
let engine: WorkerContainerRuntime;
const BOOTSTRAP = bootstrapStartCommand();

const open: TestEmulator[] = [];
async function emulator(options: Parameters<typeof useEmulator>[0] = {}): Promise<TestEmulator> {
  const t = await useEmulator({ workers: "container", containerRuntime: engine, ...options });
  open.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

/** This process's emulators' worker containers (running or not). */
const ourContainers = async () => (await engine.listContainers({ [LABELS.role]: "emulator-worker", [LABELS.ownerPid]: String(process.pid) })).map((c) => c.id);

beforeAll(async () => {
  if (!docker.available) return;
  const [endpoint] = resolveDockerEndpoints({ env: process.env }).endpoints;
  engine = createDockerContainerRuntime(endpoint!);
  await ensureWorkerImages(engine);
}, 300_000);

afterAll(async () => {
  if (!docker.available) return;
  expect(await ourContainers()).toEqual([]);
});

const mod = bundle(
  `import { remote, CpuLiveServerless } from "flash-ts";\nimport { hostname } from "node:os";\n// ${unique()}\nconst cpu = new CpuLiveServerless({ name: "boxed" });\n` +
    `export const where = remote(cpu, async (n) => ({ n, node: process.version, host: hostname(), cwd: process.cwd(), image: process.env.FLASH_WORKER_IMAGE ?? null, skip: process.env.RUNPOD_SKIP_AUTO_SYSTEM_CHECKS }));\n` +
    `export const slow = remote(cpu, async (ms) => { await new Promise((r) => setTimeout(r, ms)); return "done"; });\n` +
    `export const reach = remote(cpu, async (url) => { try { const r = await fetch(url, { signal: AbortSignal.timeout(3000) }); return "reached " + r.status; } catch (e) { return "failed: " + (e.cause?.code ?? e.name); } });`,
  "boxed.ts",
  ["where", "slow", "reach"],
);

/** Job and LB clients that carry this package's runtime, as flash dev's do. */
function clients(t: TestEmulator) {
  const delivery = new RuntimeDelivery(loadRuntimeSource(PACKAGED_RUNTIME_FILE, readPackageVersion()));
  const http = createHttpClient();
  return {
    jobs: delivery.jobs(createJobClient({ apiKey: undefined, endpointBaseUrl: `${t.url}/v2`, http })),
    lb: delivery.loadBalancer(createLoadBalancerClient({ apiKey: undefined, endpointBaseUrl: `${t.url}/v2`, http })),
  };
}

describe.skipIf(!docker.available)("container workers", () => {
  it("run flash functions in a stock node:24-bookworm-slim from the bootstrap, on the runtime the caller sends", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "live-boxed", image: BASE_IMAGE, args: BOOTSTRAP, env: { FLASH_WORKER_IMAGE: BASE_IMAGE }, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const { jobs } = clients(t);
    const job = await jobs.runToCompletion(ep.id, { input: makeRequest(mod, "boxed.ts", "where", [1]) }, { timeoutMs: 120_000 });
    expect(job.status).toBe("COMPLETED");
    const out = resultOf(parseFunctionResponse(job.output)) as Record<string, unknown>;
    expect(out).toMatchObject({ n: 1, node: expect.stringMatching(/^v24\./), image: BASE_IMAGE, skip: "true" });
    // A container: its own host name, and the image's working directory.
    expect(out.host).toMatch(/^[0-9a-f]{12}$/);
    const again = await jobs.runToCompletion(ep.id, { input: makeRequest(mod, "boxed.ts", "where", [2], { withCode: false }) }, { timeoutMs: 60_000 });
    expect(resultOf(parseFunctionResponse(again.output))).toMatchObject({ n: 2 });
    expect(t.logs.some((l) => l.includes("[live-boxed] workers run as containers of node:24-bookworm-slim"))).toBe(true);
    expect(t.logs.some((l) => /\[live-boxed\].*took over from the bootstrap/.test(l))).toBe(true);
    const workers = t.emulator.state().endpoints[0]!.workers;
    expect(workers).toHaveLength(1);
    expect(workers[0]?.pid).toBeUndefined();
  });

  it("route load-balanced requests to the container's address", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "live-boxed-lb", type: "LOAD_BALANCER", image: BASE_IMAGE, args: BOOTSTRAP, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const { lb } = clients(t);
    const url = loadBalancerBaseUrl(ep.id, `${t.url}/v2`);
    const first = await lb.request(url, { method: "POST", path: "/execute", json: makeRequest(mod, "boxed.ts", "where", [7]), timeoutMs: 120_000 });
    expect(first.status).toBe(200);
    expect(resultOf(parseFunctionResponse(first.body))).toMatchObject({ n: 7, node: expect.stringMatching(/^v24\./) });
    const worker = t.emulator.state().endpoints[0]!.workers[0];
    expect(worker?.host).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(worker?.port).toBe(80);
  });

  it("reach the emulator and, through its egress proxy, only what the policy allows; never this machine's other addresses", async () => {
    const t = await emulator({ workerEgress: { kind: "none" } });
    const ep = await t.createEndpoint({ name: "live-sealed", image: BASE_IMAGE, args: BOOTSTRAP, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const { jobs } = clients(t);
    const call = async (url: string) => resultOf(parseFunctionResponse((await jobs.runToCompletion(ep.id, { input: makeRequest(mod, "boxed.ts", "reach", [url]) }, { timeoutMs: 120_000 })).output));
    expect(await call("http://deb.debian.org/debian/")).toMatch(/^failed/);
    expect(await call("http://1.1.1.1/")).toMatch(/^failed/);
  });

  it("by default reach the internet through the egress proxy, as Runpod workers can, but never this machine's addresses", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "live-egress", image: BASE_IMAGE, args: BOOTSTRAP, workers: { min: 0, max: 1, idleTimeout: 30 } });
    const { jobs } = clients(t);
    const call = async (url: string) => resultOf(parseFunctionResponse((await jobs.runToCompletion(ep.id, { input: makeRequest(mod, "boxed.ts", "reach", [url]) }, { timeoutMs: 120_000 })).output));
    expect(await call("http://deb.debian.org/debian/")).toBe("reached 200");
    expect(t.logs.some((l) => l.includes("worker egress: deb.debian.org:80"))).toBe(true);
    const own = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal && !i.address.startsWith("172."))?.address;
    expect(own).toBeDefined();
    // Node's fetch tunnels through the proxy (CONNECT), which refuses: the call fails.
    expect(await call(`http://${own}:${new URL(t.url).port}/`)).toMatch(/^failed/);
    expect(t.logs.some((l) => l.includes(`worker egress refused: ${own} (${own}) is on this machine or a private network`))).toBe(true);
  });

  it("fail the job at once, naming the image, when the engine does not have it (nothing is pulled)", async () => {
    const t = await emulator();
    const image = `flash-test-absent-${unique()}:1`;
    const ep = await t.createEndpoint({ name: "live-absent", image, args: BOOTSTRAP, workers: { min: 0, max: 1, idleTimeout: 5 } });
    const res = await t.json<JobState>(`/v2/${ep.id}/runsync?wait=60000`, { method: "POST", json: { input: makeRequest(mod, "boxed.ts", "where", [1]) } });
    expect(res.status).toBe("FAILED");
    expect(parseJobError(res.error)).toMatchObject({ error_type: WORKER_START_FAILED, error_message: expect.stringContaining(`the image ${image} is not in the Docker engine`), hint: expect.stringContaining(`docker pull ${image}`) });
    // And so does the next job, not stuck behind the start back-off.
    const next = await t.json<JobState>(`/v2/${ep.id}/runsync?wait=60000`, { method: "POST", json: { input: 2 } });
    expect(next.status).toBe("FAILED");
    expect(parseJobError(next.error)?.error_message).toContain(image);
  });

  it("fail calls clearly, naming the image, when it has no node or a Node.js that is too old", async () => {
    const t = await emulator();
    const noNode = await t.createEndpoint({ name: "live-no-node", image: NO_NODE_IMAGE, args: BOOTSTRAP, workers: { min: 0, max: 1, idleTimeout: 5 } });
    const { jobs } = clients(t);
    await expect(jobs.runToCompletion(noNode.id, { input: makeRequest(mod, "boxed.ts", "where", [1]) }, { timeoutMs: 60_000 })).rejects.toMatchObject({
      code: "WORKER_UNREACHABLE",
      message: expect.stringMatching(new RegExp(`the image ${NO_NODE_IMAGE} cannot run the start command: .*node.*`)),
      hint: expect.stringMatching(/Node\.js 22 or newer/),
    });
    const old = await t.createEndpoint({ name: "live-old-node", image: OLD_NODE_IMAGE, args: BOOTSTRAP, env: { FLASH_WORKER_IMAGE: OLD_NODE_IMAGE }, workers: { min: 0, max: 1, idleTimeout: 5 } });
    await expect(jobs.runToCompletion(old.id, { input: makeRequest(mod, "boxed.ts", "where", [1]) }, { timeoutMs: 60_000 })).rejects.toMatchObject({
      code: "WORKER_UNREACHABLE",
      message: expect.stringContaining(`the image ${OLD_NODE_IMAGE} has Node.js v18.19.0; flash-ts workers need Node.js 22 or newer`),
    });
  });

  it("fail queued jobs after a bounded number of tries when workers keep exiting before they are ready", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "live-crashy", image: BASE_IMAGE, args: `node -e 'console.error("boom at start"); process.exit(3)'`, workers: { min: 0, max: 1, idleTimeout: 5 } });
    const res = await t.json<JobState>(`/v2/${ep.id}/runsync?wait=60000`, { method: "POST", json: { input: 1 } });
    expect(res.status).toBe("FAILED");
    expect(parseJobError(res.error)?.error_message).toMatch(/keep exiting before they are ready \(last: code 3\)/);
    expect(t.logs.some((l) => l.includes("[live-crashy] boom at start"))).toBe(true);
  });

  it("cancel a running job on the worker, and stop idle workers after idleTimeout, removing their containers", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "live-idle", image: BASE_IMAGE, args: BOOTSTRAP, workers: { min: 0, max: 1, idleTimeout: 2 } });
    const { jobs } = clients(t);
    await jobs.runToCompletion(ep.id, { input: makeRequest(mod, "boxed.ts", "where", [1]) }, { timeoutMs: 120_000 });
    const run = await t.json<{ id: string }>(`/v2/${ep.id}/run`, { method: "POST", json: { input: { ...makeRequest(mod, "boxed.ts", "slow", [60_000], { withCode: false }), runtime: { version: readPackageVersion(), hash: loadRuntimeSource(PACKAGED_RUNTIME_FILE, "x").hash } } } });
    await waitFor("the job to run", async () => (await t.json<JobState>(`/v2/${ep.id}/status/${run.id}`)).status === "IN_PROGRESS");
    expect((await t.json<JobState>(`/v2/${ep.id}/cancel/${run.id}`, { method: "POST" })).status).toBe("CANCELLED");
    await waitFor("the worker to stop the job", () => t.logs.some((l) => l.includes(`job ${run.id} was stopped by the platform`)));
    expect(await ourContainers()).toHaveLength(1);
    await waitFor("the idle worker to stop and its container to go", async () => (await ourContainers()).length === 0, 30_000);
  });
});

const spawned = new Set<ReturnType<typeof spawn>>();
afterEach(() => {
  // A test that failed half-way must not leave its emulator running.
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
  spawned.clear();
});

describe.skipIf(!docker.available)("flash dev --local with FLASH_EMULATOR_WORKERS=container", () => {
  it("runs the embedded emulator's workers as containers, and removes them on Ctrl-C", async () => {
    const dir = await copyProject(join(REPO_ROOT, "examples", "hello"));
    try {
      const dev = await startDevProcess(dir, ["--local"], { FLASH_EMULATOR_WORKERS: "container" });
      const res = await fetch(`${dev.url}/cpu_worker/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { message: "boxed" } }) });
      const body = (await res.json()) as { output?: { message: string; platform: string } };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.output).toMatchObject({ message: "boxed", platform: "linux/x64" });
      expect(dev.output()).toMatch(/workers run as containers of node:24-bookworm-slim/);
      const pipeline = await fetch(`${dev.url}/pipeline/greet`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Ada" }) });
      expect(await pipeline.json()).toMatchObject({ result: "HELLO ADA" });
      const labels = { [LABELS.role]: "emulator-worker", [LABELS.ownerPid]: String(dev.child.pid) };
      expect((await engine.listContainers(labels)).length).toBeGreaterThan(0);
      expect(await dev.stop()).toBe(0);
      expect(await engine.listContainers(labels)).toEqual([]);
    } finally {
      await removeProject(dir);
    }
  }, 180_000);
});

describe.skipIf(!docker.available)("container clean-up", () => {
  it("removes the containers of an emulator killed with SIGKILL at the next start", async () => {
    const cli = spawn(process.execPath, [CLI, "emulator", "--workers", "container", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    spawned.add(cli);
    let output = "";
    cli.stdout.on("data", (c: Buffer) => (output += c.toString()));
    cli.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const url = (await waitFor("the emulator to listen", () => /listening on (http:\/\/\S+)/.exec(output)?.[1], 30_000)) as string;
    const created = await fetch(`${url}/v2/serverless`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "live-orphan", type: "QUEUE", scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, image: BASE_IMAGE, args: BOOTSTRAP, workers: { min: 1, max: 1, idleTimeout: 60 }, cpu: [{ id: "cpu3c", vcpuCount: 2 }] }),
    });
    expect(created.status).toBe(201);
    const labels = { [LABELS.role]: "emulator-worker", [LABELS.ownerPid]: String(cli.pid) };
    await waitFor("its worker container", async () => (await engine.listContainers(labels)).some((c) => c.state === "running"), 60_000);
    cli.kill("SIGKILL");
    await new Promise((resolve) => cli.once("exit", resolve));
    expect(await engine.listContainers(labels)).toHaveLength(1);
    const networks = await engine.listNetworks({ [LABELS.role]: "emulator-network", [LABELS.ownerPid]: String(cli.pid) });
    expect(networks).toHaveLength(1);

    const t = await emulator();
    expect(await engine.listContainers(labels)).toEqual([]);
    expect(await engine.listNetworks({ [LABELS.role]: "emulator-network", [LABELS.ownerPid]: String(cli.pid) })).toEqual([]);
    expect(t.logs.some((l) => /removed 1 worker container\(s\) and 1 network\(s\) left by an emulator that was killed/.test(l))).toBe(true);
  }, 120_000);

  it("removes its containers and its network on close (Ctrl-C), even with a worker still booting", async () => {
    const t = await emulator();
    await t.createEndpoint({ name: "live-warm", image: BASE_IMAGE, args: BOOTSTRAP, workers: { min: 2, max: 2, idleTimeout: 60 } });
    await waitFor("two worker containers", async () => (await ourContainers()).length === 2, 60_000);
    const network = (await engine.listNetworks({ [LABELS.role]: "emulator-network", [LABELS.ownerPid]: String(process.pid) })).map((n) => n.name);
    expect(network).toHaveLength(1);
    await t.close();
    open.splice(open.indexOf(t), 1);
    expect(await ourContainers()).toEqual([]);
    expect((await engine.listNetworks({ [LABELS.role]: "emulator-network", [LABELS.ownerPid]: String(process.pid) })).map((n) => n.name)).not.toContain(network[0]);
  });
});
