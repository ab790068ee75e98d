// Worst-case memory under large request bodies: 150 concurrent requests of
// the largest size each server takes, against `flash dev` (local emulator
// embedded) and against the standalone `flash emulator`, each a child process
// whose peak RSS is read from /proc. Baselines in the same run: the RSS idle
// and the peak RSS of one such request on its own. Also reported: how the
// burst was answered (200 / 429 / 503, or the connection closed by the server
// before the client had sent everything), that the process survived, and that
// a normal request is served right after.
//
//   npm run build && node bench/body-memory.mjs        (Linux: reads /proc)
//
// Env: BENCH_CONCURRENCY (default 150), BENCH_BODY_MB (default 9.9: under both limits of 10 MB),
// BENCH_BODY_SHAPE (default "string": one long string; "numbers": an array of small numbers, which
// costs the heap several times its size once parsed).
import { spawn } from "node:child_process";
import { request } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDev } from "./lib/dev-process.mjs";
import { peakRssMb, resetPeak, rssMb } from "./lib/proc-memory.mjs";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 150);
const BODY_MB = Number(process.env.BENCH_BODY_MB ?? 9.9);
const CLI = join(import.meta.dirname, "..", "dist", "cli", "index.js");

const SHAPE = process.env.BENCH_BODY_SHAPE ?? "string";

/** One max-size JSON body, shared by every request (the client holds it once). */
function makePayload() {
  const bytes = Math.floor(BODY_MB * 1024 * 1024) - 32;
  if (SHAPE === "numbers") return Buffer.from(`{"input":{"data":[${"1,".repeat(Math.floor(bytes / 2) - 1)}1]}}`);
  return Buffer.from(JSON.stringify({ input: { data: "x".repeat(bytes) } }));
}
const payload = makePayload();

/** POSTs `body`; resolves with the status, or with the error code when the server closed first. */
function post(url, body) {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", headers: { "content-type": "application/json", "content-length": body.length } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, retryAfter: res.headers["retry-after"], body: Buffer.concat(chunks).toString() }));
      res.on("error", () => resolve({ status: res.statusCode, retryAfter: res.headers["retry-after"] }));
    });
    req.on("error", (error) => resolve({ error: error.code ?? error.message }));
    req.end(body);
  });
}

/** Idle RSS, the peak of one request, then the peak of the burst; `settle` runs between phases. */
async function measure(pid, url, { settle }) {
  await settle();
  const idle = rssMb(pid);
  resetPeak(pid);
  const one = await post(url, payload);
  const onePeak = peakRssMb(pid);
  await settle();
  resetPeak(pid);
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => post(url, payload)));
  const seconds = (performance.now() - started) / 1000;
  const burstPeak = peakRssMb(pid);
  const answers = {};
  for (const r of results) {
    const key = r.status !== undefined ? String(r.status) : `closed before the body was sent (${r.error})`;
    answers[key] = (answers[key] ?? 0) + 1;
  }
  const refused = results.find((r) => r.status === 429 || r.status === 503);
  await settle();
  const after = await post(url, payload);
  return {
    idleRssMb: idle,
    oneRequest: { status: one.status, peakRssMb: onePeak, addedMb: Math.round((onePeak - idle) * 10) / 10 },
    burst: {
      concurrency: CONCURRENCY,
      bodyMb: BODY_MB,
      peakRssMb: burstPeak,
      addedMb: Math.round((burstPeak - idle) * 10) / 10,
      seconds: Math.round(seconds * 10) / 10,
      answers,
      retryAfter: refused?.retryAfter,
      exampleRefusal: refused?.body?.slice(0, 300),
    },
    afterBurst: { status: after.status, alive: isAlive(pid) },
  };
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function devServer() {
  const root = mkdtempSync(join(tmpdir(), "flash-bench-memory-"));
  // One worker: jobs queue in the embedded emulator, so every admitted body is held until its turn.
  writeFileSync(
    join(root, "big.ts"),
    `import { remote, CpuLiveServerless } from "flash-ts";
export const size = remote(new CpuLiveServerless({ name: "big", workersMax: 1 }), async (input: { data: string }) => input.data.length);
`,
  );
  const dev = await startDev(root);
  try {
    const url = `${dev.url}/big/run_sync`;
    const warm = await post(url, Buffer.from('{"input":{"data":"x"}}'));
    if (warm.status !== 200) throw new Error(`warm-up failed: ${JSON.stringify(warm)}`);
    const quiet = async () => {
      const small = await post(url, Buffer.from('{"input":{"data":"x"}}'));
      if (small.status !== 200) throw new Error(`dev server not serving: ${JSON.stringify(small)}`);
    };
    return { budgetMb: 64, ...(await measure(dev.child.pid, url, { settle: quiet })) };
  } finally {
    await dev.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

async function standaloneEmulator() {
  const child = spawn(process.execPath, [CLI, "emulator", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      const m = output.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`flash emulator exited (${code}): ${output}`)));
  });
  try {
    const create = await fetch(`${url}/v2/serverless`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // workers.max 0: every accepted job stays queued, the worst case for the queue.
      body: JSON.stringify({ name: "bench-queue", type: "QUEUE", image: "none", args: "true", cpu: [{ id: "cpu3c", vcpuCount: 2 }], scaling: { type: "QUEUE_DELAY", queueDelay: 4 }, workers: { min: 0, max: 0 } }),
    });
    const endpoint = await create.json();
    const purge = async () => {
      const res = await fetch(`${url}/v2/${endpoint.id}/purge-queue`, { method: "POST" });
      if (res.status !== 200) throw new Error(`emulator not serving: ${res.status}`);
      await res.text();
    };
    return { budgetsMb: { bodiesInFlight: 128, jobs: 256 }, ...(await measure(child.pid, `${url}/v2/${endpoint.id}/run`, { settle: purge })) };
  } finally {
    child.kill("SIGINT");
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
  }
}

const result = {
  benchmark: "body-memory",
  description: `peak RSS of flash dev and of flash emulator under ${CONCURRENCY} concurrent ${BODY_MB} MB requests, beside their idle RSS and one request's peak`,
  node: process.version,
  bodyShape: SHAPE,
  devServer: await devServer(),
  emulator: await standaloneEmulator(),
};
console.log(JSON.stringify(result, null, 2));
