// The very first `flash dev` on a machine that has the base image but no dev image: a project
// made by `flash init` (flash-ts from the packed tarball in vendor/, its lockfile from `npm
// install` on the host), started with `npx flash dev` and Docker present. Time to the first 200
// on a function route, split into the image build, the project's `npm ci` inside and the rest,
// and what the user saw meanwhile (progress lines).
//
//   npm run build && node bench/container-first-run.mjs
//
// No dev image is reused: the package runs under its own version (bench/lib/package-copy.mjs)
// and the base image gets a throw-away label, so no layer of an earlier build is in the cache.
// Both are removed afterwards, with the dependency volume. Prints one JSON object.
/* global AbortSignal */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { findFreePort } from "../dist/common/ports.js";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stdout, version } from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { makePackageCopy } from "./lib/package-copy.mjs";

const root = resolve(import.meta.dirname, "..");
const BASE_IMAGE = process.env.FLASH_BASE_IMAGE || "node:24-bookworm-slim";
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...opts }).trim();

async function freePort() {
  return (await findFreePort("127.0.0.1")).port;
}

const work = mkdtempSync(join(tmpdir(), "flash-bench-first-"));
const pkg = makePackageCopy(root);
const base = `flash-bench-base:${process.pid}`;
const project = join(work, "first-app");
const result = { node: version, cpus: cpus().length, loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100), baseImage: BASE_IMAGE };

try {
  // A base image no earlier build has used: the same files, one more (empty) layer of metadata.
  run("docker", ["build", "-q", "-t", base, "--label", `dev.flash-ts.bench=${process.pid}`, "-"], { input: `FROM ${BASE_IMAGE}\n` });

  // The project, as a user has it before the first start (not timed).
  run(process.execPath, [pkg.cli, "init", project]);
  mkdirSync(join(project, "vendor"));
  run("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", join(project, "vendor")], { cwd: root });
  const tarball = readdirSync(join(project, "vendor")).find((f) => f.endsWith(".tgz"));
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", `./vendor/${tarball}`], { cwd: project });
  result.projectPackages = readdirSync(join(project, "node_modules")).length;

  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [pkg.cli, "dev", "--port", String(port), "--local"], {
    cwd: project,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FLASH_CONTAINER: "", FLASH_BASE_IMAGE: base, NO_COLOR: "1" },
  });
  const seen = [];
  let output = "";
  const onData = (d) => {
    output += d;
    for (const line of String(d).split("\n")) if (line.trim()) seen.push({ atMs: Math.round(performance.now() - t0), line: line.trim() });
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  let first200;
  while (first200 === undefined && performance.now() - t0 < 600_000) {
    if (/Dev container .* started/.test(output)) {
      const ok = await fetch(`http://127.0.0.1:${port}/cpu_worker/run_sync`, { method: "POST", body: '{"text":"a b"}', signal: AbortSignal.timeout(5000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) first200 = performance.now() - t0;
    }
    await sleep(50);
  }
  child.kill("SIGINT");
  await new Promise((r) => child.once("exit", r));
  if (first200 === undefined) throw new Error(`no 200 within 10 minutes:\n${output.slice(-4000)}`);

  const at = (pattern) => seen.find((s) => pattern.test(s.line))?.atMs;
  const built = /Built \S+ in ([\d.]+) s/.exec(output);
  const installed = /Dependencies installed in ([\d.]+) s/.exec(output);
  result.firstRun = {
    startToFirst200OnAFunctionRouteS: Math.round(first200 / 100) / 10,
    target: "< 60 s",
    imageBuildS: built ? Number(built[1]) : null,
    projectNpmCiInContainerS: installed ? Number(installed[1]) : null,
    progressLinesShown: seen.length,
    firstProgressLineAtMs: seen[0]?.atMs ?? null,
    milestonesMs: {
      buildAnnounced: at(/^Building the dev image/),
      built: at(/^Built /),
      containerStarted: at(/^Dev container .* started/),
      installAnnounced: at(/Installing the project's dependencies/),
      installed: at(/Dependencies installed in/),
      serving: at(/Flash Dev Server {2}http/),
      first200: Math.round(first200),
    },
    whatTheUserSawFirst: seen.slice(0, 6).map((s) => `${s.atMs} ms  ${s.line}`),
  };
  result.loadavgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
} finally {
  try {
    for (const v of run("docker", ["volume", "ls", "-q", "-f", `label=dev.flash-ts.project-path=${project}`]).split("\n").filter(Boolean)) run("docker", ["volume", "rm", "-f", v]);
  } catch {
    // nothing to remove
  }
  pkg.cleanup();
  try {
    run("docker", ["rmi", base]);
  } catch {
    // in use or gone
  }
  try {
    run("docker", ["image", "prune", "-f", "--filter", `label=dev.flash-ts.bench=${process.pid}`]);
  } catch {
    // nothing dangling
  }
  rmSync(work, { recursive: true, force: true });
}
stdout.write(JSON.stringify(result, null, 2) + "\n");

