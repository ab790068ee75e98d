// `flash dev` in its container, on this machine's Docker engine:
//   1. start → first 200 on GET /, with the image already built (cold: first start of a
//      project, dependencies installed into a new volume; warm: the next starts);
//   2. reload latency through the bind mount with polling: hello.ts edited on the host →
//      a QB call answers with the new code (includes one call's round trip);
//   3. twenty start/stop cycles (SIGINT): containers and dangling volumes left behind.
//
//   npm run build && node bench/container-dev.mjs [--starts 6] [--reloads 20] [--cycles 20] [--harness]
//
// The host side is `flash dev` itself (the CLI), unless --harness, which runs the test
// harness (runDevContainer wired to signals as the CLI does). Prints one JSON object.
/* global AbortSignal */
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, cpus } from "node:os";
import { join, resolve } from "node:path";
import { argv, stdout, version } from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { summarize } from "./lib/percentiles.mjs";

const root = resolve(import.meta.dirname, "..");
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const useCli = !argv.includes("--harness");
const starts = arg("starts", 6);
const reloads = arg("reloads", 20);
const cycles = arg("cycles", 20);

const docker = (...args) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const lines = (text) => text.split("\n").filter(Boolean);

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

function startHost(dir, port) {
  const entry = useCli ? join(root, "dist/cli/index.js") : join(root, "test/container/harness/dev-host.mjs");
  const args = useCli ? ["dev", "--port", String(port), "--local"] : [JSON.stringify({ port, devArgs: ["--local"] })];
  const child = spawn(process.execPath, [entry, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FLASH_CONTAINER: "" } });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((r) => child.once("exit", (code) => r(code)));
  return { child, exited, output: () => output };
}

async function until(check, timeoutMs, everyMs = 10) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(everyMs);
  }
  return false;
}

const get200 = async (port) => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).status === 200;

async function call(port) {
  const r = await fetch(`http://127.0.0.1:${port}/hello/run_sync`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(10_000),
  });
  return (await r.json())?.output?.version;
}

async function stop(host) {
  host.child.kill("SIGINT");
  await host.exited;
}

const dir = mkdtempSync(join(tmpdir(), "flash-bench-container-"));
cpSync(join(root, "test/fixtures/container-project"), dir, { recursive: true, filter: (p) => !/node_modules|\.runpod/.test(p) });
const danglingBefore = new Set(lines(docker("volume", "ls", "-q", "-f", "dangling=true")));
const result = { node: version, cpus: cpus().length, host: useCli ? "flash CLI" : "harness (runDevContainer)", docker: docker("version", "--format", "{{.Server.Version}}") };

try {
  // Build (or reuse) the image first: the figure is for "the image already built".
  {
    const port = await freePort();
    const host = startHost(dir, port);
    if (!(await until(() => get200(port), 600_000, 200))) throw new Error(`server never answered:\n${host.output()}`);
    await stop(host);
    rmSync(join(dir, ".runpod"), { recursive: true, force: true });
  }
  // The first start above also filled the dependency volume; measure a truly cold one by dropping it.
  const volume = lines(docker("volume", "ls", "-q", "-f", "label=dev.flash-ts.role=deps-volume", "-f", `label=dev.flash-ts.project-path=${dir}`));
  for (const v of volume) docker("volume", "rm", v);

  const startTimes = [];
  for (let i = 0; i < starts; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const host = startHost(dir, port);
    if (!(await until(() => get200(port), 120_000))) throw new Error(`no 200:\n${host.output()}`);
    startTimes.push(performance.now() - t0);
    await stop(host);
  }
  result.startToFirst200Ms = { cold: Math.round(startTimes[0]), warm: summarize(startTimes.slice(1)) };

  // Reload latency.
  {
    const port = await freePort();
    const host = startHost(dir, port);
    await until(() => get200(port), 120_000);
    await until(async () => (await call(port)) === 1, 60_000, 100);
    const file = join(dir, "hello.ts");
    const samples = [];
    for (let n = 2; n < 2 + reloads; n++) {
      await sleep(100 + Math.random() * 300); // land at random phases of the poll timer
      const t0 = performance.now();
      writeFileSync(file, readFileSync(file, "utf8").replace(/version: \d+/, `version: ${n}`));
      if (!(await until(async () => (await call(port)) === n, 10_000, 20))) throw new Error(`reload ${n} not seen:\n${host.output().slice(-2000)}`);
      samples.push(performance.now() - t0);
    }
    result.reloadThroughBindMountMs = summarize(samples);
    await stop(host);
  }

  // Start/stop cycles.
  {
    let failures = 0;
    const t0 = performance.now();
    for (let i = 0; i < cycles; i++) {
      const port = await freePort();
      const host = startHost(dir, port);
      if (!(await until(() => get200(port), 120_000))) failures++;
      await stop(host);
    }
    const containers = lines(docker("ps", "-aq", "-f", "label=dev.flash-ts.managed=true", "-f", "label=dev.flash-ts.role=dev-container"));
    const danglingAfter = lines(docker("volume", "ls", "-q", "-f", "dangling=true")).filter((v) => !danglingBefore.has(v));
    const kept = lines(docker("volume", "ls", "-q", "-f", `label=dev.flash-ts.project-path=${dir}`));
    result.cycles = {
      count: cycles,
      failures,
      totalS: Math.round((performance.now() - t0) / 100) / 10,
      containersLeft: containers.length,
      // The project's dependency volume is unused between runs ("dangling" to Docker) but meant to be kept.
      newDanglingVolumesNotMeantToKeep: danglingAfter.filter((v) => !kept.includes(v)).length,
      volumesKeptForTheProject: kept.length,
    };
  }
} finally {
  for (const v of lines(docker("volume", "ls", "-q", "-f", `label=dev.flash-ts.project-path=${dir}`))) docker("volume", "rm", "-f", v);
  rmSync(dir, { recursive: true, force: true });
}
stdout.write(JSON.stringify(result, null, 2) + "\n");
