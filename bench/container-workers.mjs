// Container workers (flash emulator --workers container) beside their floors,
// measured in one run:
//
// - cold worker: a job submitted to an endpoint with no worker, on the
//   bootstrap start command in node:24-bookworm-slim; its delayTime is the
//   time from submission until the worker took it (container create and
//   start, node, the bootstrap, its first job-take). Floor: `docker run --rm
//   node:24-bookworm-slim node -e 0` (create, start, node, exit, remove).
//   Target: at most the floor + 300 ms.
// - first call on a cold endpoint, end to end: the dev server's job client
//   (runtime delivery included) from submission to the answer, the runtime
//   sent with the call, unpacked, loaded, the module loaded and run.
// - bytes sent to deliver the runtime: the request with and without it.
// - warm call p50, container workers beside process workers (same function,
//   same client, one call at a time).
//
//   npm run build && node bench/container-workers.mjs
//
// Env: BENCH_COLD_ROUNDS (default 7), BENCH_WARM_CALLS (default 300).
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../dist/emulator/index.js";
import { createControlPlaneClient, createHttpClient, createJobClient } from "../dist/runpod/index.js";
import { encodeValue } from "../dist/common/value-codec.js";
import { readPackageVersion } from "../dist/common/package-info.js";
import { bootstrapStartCommand } from "../dist/worker/bootstrap/start-command.js";
import { RuntimeDelivery } from "../dist/calls/runtime-delivery.js";
import { PACKAGED_RUNTIME_FILE, loadRuntimeSource } from "../dist/worker/runtime-source.js";
import { nullLogger } from "../dist/common/logger.js";
import { bundleTrivialFunction } from "./lib/trivial-function.mjs";
import { summarize, median } from "./lib/percentiles.mjs";

const IMAGE = "node:24-bookworm-slim";
const COLD_ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 7);
const WARM_CALLS = Number(process.env.BENCH_WARM_CALLS ?? 300);

const { project, module } = await bundleTrivialFunction("flash-bench-containers-");
const request = (withCode) => ({
  flash: 1,
  module: withCode ? { hash: module.hash, code: module.code } : { hash: module.hash },
  target: { file: "trivial.ts", export: "add" },
  args: [encodeValue({ a: 2, b: 3 })],
  dependencies: [],
});

const source = loadRuntimeSource(PACKAGED_RUNTIME_FILE, readPackageVersion());
const http = createHttpClient();
const startCommand = bootstrapStartCommand();

async function withEmulator(workers, fn) {
  const cache = await mkdtemp(join(tmpdir(), "flash-bench-cache-"));
  const emulator = await startEmulator({ port: 0, logger: nullLogger, workers, workerEgress: { kind: "none" }, cwd: project, workerEnv: workers === "process" ? { FLASH_WORKER_CACHE: cache } : undefined });
  try {
    const controlPlane = createControlPlaneClient({ apiBaseUrl: emulator.url, http });
    const jobs = createJobClient({ endpointBaseUrl: `${emulator.url}/v2`, http });
    return await fn({ emulator, controlPlane, jobs });
  } finally {
    await emulator.close();
    await rm(cache, { recursive: true, force: true });
  }
}

const createEndpoint = (controlPlane, name, min = 0) =>
  controlPlane.createEndpoint({
    name,
    type: "QUEUE",
    scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
    image: IMAGE,
    args: startCommand,
    workers: { min, max: 1, idleTimeout: 600 },
    cpu: [{ id: "cpu3g", vcpuCount: 2 }],
  });

async function check(job) {
  if (job.status !== "COMPLETED" || job.output?.ok !== true || job.output.result !== 5) throw new Error(`unexpected job: ${JSON.stringify(job).slice(0, 300)}`);
  return job;
}

// Floors, alternated with the cold rounds below so both see the same load: `docker run` of the
// same image as the issue names it, and the same on an internal network like the workers' one
// (attaching a container to a network is part of its start).
const floorNetwork = `flash-bench-${process.pid}`;
execFileSync("docker", ["network", "create", "--internal", "--label", "dev.flash-ts.bench=container-workers", floorNetwork]);
const dockerRun = (network) => {
  const t0 = performance.now();
  execFileSync("docker", ["run", "--rm", ...(network ? ["--network", network] : []), "--label", "dev.flash-ts.bench=container-workers", IMAGE, "node", "-e", "0"]);
  return performance.now() - t0;
};
dockerRun();
const floor = { plain: [], internalNetwork: [] };

async function coldRounds(workers) {
  return withEmulator(workers, async ({ controlPlane, jobs }) => {
    const delays = [];
    const endToEnd = [];
    for (let i = 0; i < COLD_ROUNDS; i++) {
      if (workers === "container") {
        floor.plain.push(dockerRun());
        floor.internalNetwork.push(dockerRun(floorNetwork));
      }
      const endpoint = await createEndpoint(controlPlane, `live-cold-${i}`);
      // A fresh delivery per round: the first call to an endpoint carries the runtime, as flash dev's does.
      const delivered = new RuntimeDelivery(source).jobs(jobs);
      const t0 = performance.now();
      const job = await check(await delivered.runToCompletion(endpoint.id, { input: request(true) }, { timeoutMs: 120_000 }));
      endToEnd.push(performance.now() - t0);
      delays.push(job.delayTime);
      await controlPlane.deleteEndpoint(endpoint.id);
    }
    return { delayTime: summarize(delays), firstCallEndToEnd: summarize(endToEnd) };
  });
}

async function warmCalls(workers) {
  return withEmulator(workers, async ({ controlPlane, jobs }) => {
    const endpoint = await createEndpoint(controlPlane, "live-warm", 1);
    const delivered = new RuntimeDelivery(source).jobs(jobs);
    await check(await delivered.runToCompletion(endpoint.id, { input: request(true) }, { timeoutMs: 120_000 }));
    for (let i = 0; i < 50; i++) await check(await delivered.runToCompletion(endpoint.id, { input: request(false) }, { timeoutMs: 30_000 }));
    const samples = [];
    for (let i = 0; i < WARM_CALLS; i++) {
      const t0 = performance.now();
      await check(await delivered.runToCompletion(endpoint.id, { input: request(false) }, { timeoutMs: 30_000 }));
      samples.push(performance.now() - t0);
    }
    return summarize(samples);
  });
}

// The network path a container worker's calls take: HTTP round trips from a container on an
// internal network to a server on its gateway, beside the same from this host.
async function bridgeRoundTrip() {
  const { createServer } = await import("node:http");
  const gateway = JSON.parse(execFileSync("docker", ["network", "inspect", floorNetwork]).toString())[0].IPAM.Config[0].Gateway;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  await new Promise((r) => server.listen(0, gateway, r));
  const port = server.address().port;
  const script = `(async()=>{const s=[];for(let i=0;i<${WARM_CALLS};i++){const t=performance.now();const r=await fetch("http://${gateway}:${port}/",{method:"POST",body:"x"});await r.text();s.push(performance.now()-t)}console.log(JSON.stringify(s))})()`;
  // Not execFileSync: the server lives in this process and must keep answering.
  const run = promisify(execFile);
  const fromContainer = JSON.parse((await run("docker", ["run", "--rm", "--network", floorNetwork, "--label", "dev.flash-ts.bench=container-workers", IMAGE, "node", "-e", script])).stdout);
  const fromHost = JSON.parse((await run(process.execPath, ["-e", script])).stdout);
  await new Promise((r) => server.close(r));
  return { fromContainer: summarize(fromContainer), fromHost: summarize(fromHost) };
}

const withRuntime = JSON.stringify({ input: { ...request(true), runtime: await source.ref(true) } }).length;
const withoutRuntime = JSON.stringify({ input: { ...request(true), runtime: await source.ref(false) } }).length;

let containerCold, processCold, containerWarm, processWarm, bridge;
try {
  containerCold = await coldRounds("container");
  processCold = await coldRounds("process");
  containerWarm = await warmCalls("container");
  processWarm = await warmCalls("process");
  bridge = await bridgeRoundTrip();
} finally {
  execFileSync("docker", ["network", "rm", floorNetwork]);
}

const floorP50 = median(floor.internalNetwork);
const result = {
  benchmark: "container-workers",
  description: "container workers (node:24-bookworm-slim, bootstrap start command) beside docker run and process workers",
  node: process.version,
  image: IMAGE,
  runtime: { version: source.version, sha256: source.hash, bytes: source.size, requestBytesWithRuntime: withRuntime, requestBytesWithout: withoutRuntime, deliveryBytes: withRuntime - withoutRuntime },
  coldWorker: {
    baseline: { what: `docker run --rm ${IMAGE} node -e 0`, ...summarize(floor.plain) },
    baselineInternalNetwork: { what: `docker run --rm --network <internal network> ${IMAGE} node -e 0 (the workers' conditions)`, ...summarize(floor.internalNetwork) },
    container: { what: "delayTime of the first job on a cold endpoint: submission → taken by the new container's bootstrap", ...containerCold.delayTime },
    process: { what: "the same with process workers", ...processCold.delayTime },
  },
  firstCallEndToEnd: { container: containerCold.firstCallEndToEnd, process: processCold.firstCallEndToEnd },
  warmCall: { container: containerWarm, process: processWarm, httpRoundTrip: { what: "one HTTP POST, sequential: container on an internal network → its gateway, and host → the same server", ...bridge } },
  target: { coldWorkerMs: `p50 ≤ floor (internal network) p50 + 300 = ${Math.round(floorP50 + 300)}` },
};
result.meetsTarget = result.coldWorker.container.p50 <= floorP50 + 300;
console.log(JSON.stringify(result, null, 2));

await http.close();
await rm(project, { recursive: true, force: true });
