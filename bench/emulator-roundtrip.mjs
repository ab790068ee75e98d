// Round trip through the local emulator: a trivial flash function on a warm
// worker, called with `runsync` through flash-ts's job client, as `flash dev`
// does. Prints JSON with p50/p95 latency sequentially and at concurrency 16,
// and jobs/s at concurrency 16, beside a baseline measured in the same run:
// the same client against a bare node:http server that answers a canned job
// (the machine's floor for one HTTP round trip).
//
//   npm run build && node bench/emulator-roundtrip.mjs
//
// Env: BENCH_JOBS (default 3000), BENCH_WORKERS (default 2), BENCH_WORKER_CONCURRENCY (default 8).
import { createServer } from "node:http";
import { rm } from "node:fs/promises";
import { startEmulator } from "../dist/emulator/index.js";
import { createControlPlaneClient, createHttpClient, createJobClient } from "../dist/runpod/index.js";
import { encodeValue } from "../dist/common/value-codec.js";
import { bundleTrivialFunction } from "./lib/trivial-function.mjs";
import { summarize } from "./lib/percentiles.mjs";

const JOBS = Number(process.env.BENCH_JOBS ?? 3000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const WORKER_CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 8);
const CONCURRENCY = 16;

async function measure(call, { jobs, concurrency }) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < jobs) {
      next++;
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  return { ...summarize(latencies), jobsPerSecond: Math.round(jobs / seconds) };
}

// A trivial function, bundled exactly as flash dev bundles it.
const { project, module } = await bundleTrivialFunction("flash-bench-rt-");

const emulator = await startEmulator({ port: 0, cwd: project, logger: undefined });
const http = createHttpClient();
const controlPlane = createControlPlaneClient({ apiBaseUrl: emulator.url, http });
const jobs = createJobClient({ endpointBaseUrl: `${emulator.url}/v2`, http });
const endpoint = await controlPlane.createEndpoint({
  name: "live-bench",
  type: "QUEUE",
  scaling: { type: "QUEUE_DELAY", queueDelay: 4 },
  image: "node:24-bookworm-slim",
  args: "flash worker",
  env: { FLASH_WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) },
  workers: { min: WORKERS, max: WORKERS, idleTimeout: 600 },
  cpu: [{ id: "cpu3g", vcpuCount: 2 }],
});
const request = (withCode) => ({
  input: {
    flash: 1,
    module: withCode ? { hash: module.hash, code: module.code } : { hash: module.hash },
    target: { file: "trivial.ts", export: "add" },
    args: [encodeValue({ a: 2, b: 3 })],
    dependencies: [],
  },
});
const call = async (withCode = false) => {
  const job = await jobs.runSync(endpoint.id, request(withCode), { waitMs: 30_000 });
  if (job.status !== "COMPLETED" || job.output?.ok !== true || job.output.result !== 5) {
    throw new Error(`unexpected job: ${JSON.stringify(job).slice(0, 300)}`);
  }
};
// Warm every worker: the first call on each carries the module code.
for (let i = 0; i < WORKERS * WORKER_CONCURRENCY * 2; i++) await call(true);
for (let i = 0; i < 200; i++) await call();

// Baseline: the same client against a server answering a canned COMPLETED job.
const canned = JSON.stringify({ id: "job", status: "COMPLETED", delayTime: 0, executionTime: 0, output: { flash: 1, ok: true, result: 5, logs: [], durationMs: 0 } });
const floor = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(canned));
});
await new Promise((r) => floor.listen(0, "127.0.0.1", r));
const floorJobs = createJobClient({ endpointBaseUrl: `http://127.0.0.1:${floor.address().port}/v2`, http });
const floorCall = () => floorJobs.runSync("x", request(false), { waitMs: 30_000 });
for (let i = 0; i < 200; i++) await floorCall();

const sequentialJobs = Math.min(1000, JOBS);
const result = {
  benchmark: "emulator-roundtrip",
  description: "runsync of a trivial flash function on warm flash workers through the local emulator (flash-ts job client)",
  node: process.version,
  workers: WORKERS,
  workerConcurrency: WORKER_CONCURRENCY,
  baseline: {
    what: "same client, bare node:http server answering a canned job",
    sequential: await measure(floorCall, { jobs: sequentialJobs, concurrency: 1 }),
    concurrency16: await measure(floorCall, { jobs: JOBS, concurrency: CONCURRENCY }),
  },
  emulator: {
    sequential: await measure(call, { jobs: sequentialJobs, concurrency: 1 }),
    concurrency16: await measure(call, { jobs: JOBS, concurrency: CONCURRENCY }),
  },
  targets: { p50Ms: 5, jobsPerSecondAt16: 500 },
};
result.meetsTargets = {
  p50Sequential: result.emulator.sequential.p50 <= 5,
  jobsPerSecondAt16: result.emulator.concurrency16.jobsPerSecond >= 500,
};
console.log(JSON.stringify(result, null, 2));

await new Promise((r) => floor.close(r));
await http.close();
await emulator.close();
await rm(project, { recursive: true, force: true });
