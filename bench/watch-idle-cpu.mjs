// Idle CPU of file watchers over a 5,000-file project (plus an ignored
// node_modules/.git/dist twice that size), as % of one core.
//
//   npm run build && node bench/watch-idle-cpu.mjs [--window 12] [--rounds 2] [--files 5000]
//
// Every subject runs in its own process; its CPU time is read from
// /proc/<pid>/stat over the window after a warm-up. Subjects run one at a
// time (running them together on 2 cores would make them steal from each
// other) in interleaved rounds, so the machine's noise hits all of them; the
// JSON reports each round and the median.
import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { argv, execPath, stdout, version } from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { processCpuMs } from "./lib/proc-cpu.mjs";
import { median } from "./lib/percentiles.mjs";
import { generateWatchTree } from "./lib/watch-tree.mjs";

const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const windowS = arg("window", 12);
const rounds = arg("rounds", 2);
const fileCount = arg("files", 5000);
const warmupS = arg("warmup", 3);
const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1].split(",") : undefined;

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..");
const subjectScript = join(here, "lib", "watch-subject.mjs");

const tree = generateWatchTree({ files: fileCount });
// ~10 hot files, as the dev server would pass for a small project's modules and imports.
const hot = tree.files.filter((f) => f.endsWith(".ts") && !f.includes(".test.")).slice(0, 10);

const subjects = [
  { name: "flash-poll", args: [subjectScript, "flash-poll", tree.root, hot.join(",")] },
  { name: "flash-poll-hot-50ms", args: [subjectScript, "flash-poll@50", tree.root, hot.join(",")] },
  { name: "flash-native", args: [subjectScript, "flash-native", tree.root] },
  {
    name: "nodemon-legacy-watch",
    args: [join(repo, "node_modules", "nodemon", "bin", "nodemon.js"), "--legacy-watch", "--watch", tree.root, "-e", "ts,js", "--exec", "node -e 0"],
    ready: /clean exit|waiting for changes/,
  },
  { name: "chokidar6-poll-100ms", args: [subjectScript, "chokidar-poll-100", tree.root] },
  { name: "chokidar6-poll-1000ms", args: [subjectScript, "chokidar-poll-1000", tree.root] },
  { name: "node-idle", args: [subjectScript, "node-idle", tree.root] },
].filter((s) => !only || only.includes(s.name));

async function measure(subject) {
  const child = spawn(execPath, subject.args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let info;
  const started = performance.now();
  try {
    await new Promise((resolve, reject) => {
      const onData = (chunk) => {
        output += chunk;
        const m = /READY (.*)\n/.exec(output);
        if (m) {
          info = JSON.parse(m[1]);
          resolve();
        } else if (subject.ready?.test(output)) resolve();
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => reject(new Error(`${subject.name} exited (${code}): ${output}`)));
    });
    const readyMs = performance.now() - started;
    await sleep(warmupS * 1000);
    const cpu0 = processCpuMs(child.pid);
    const t0 = performance.now();
    await sleep(windowS * 1000);
    const cpuMs = processCpuMs(child.pid) - cpu0;
    const wallMs = performance.now() - t0;
    return { cpuPercent: Math.round((cpuMs / wallMs) * 1000) / 10, readyMs: Math.round(readyMs), info, load1: Math.round(loadavg()[0] * 10) / 10 };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
  }
}

const results = Object.fromEntries(subjects.map((s) => [s.name, { cpuPercent: [], readyMs: [], loadavg1: [] }]));
try {
  for (let round = 0; round < rounds; round++) {
    for (const subject of subjects) {
      const r = await measure(subject);
      const entry = results[subject.name];
      entry.cpuPercent.push(r.cpuPercent);
      entry.readyMs.push(r.readyMs);
      entry.loadavg1.push(r.load1);
      if (r.info) entry.description = r.info.description;
      if (r.info?.stats) entry.stats = r.info.stats;
      process.stderr.write(`round ${round + 1}: ${subject.name} ${r.cpuPercent} % (${r.info?.description ?? ""})\n`);
    }
  }
} finally {
  tree.cleanup();
}
for (const entry of Object.values(results)) entry.medianCpuPercent = Math.round(median(entry.cpuPercent) * 10) / 10;

stdout.write(
  JSON.stringify(
    {
      benchmark: "watch-idle-cpu",
      unit: "% of one core while idle (user+system), median over rounds",
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: version, loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
      tree: { watchedFiles: tree.files.length, watchedDirectories: tree.directories, ignoredFiles: tree.ignoredFiles, hotFiles: hot.length },
      note:
        "Each figure is the subject's own CPU time over the window. When the machine's load average exceeds its cores, " +
        "CPU-hungry subjects (chokidar at 100 ms, nodemon) are throttled and read lower than on a quiet machine; " +
        "a subject that mostly sleeps (flash-poll) is not. loadavg1 is recorded per measurement.",
      windowS,
      warmupS,
      rounds,
      results,
    },
    null,
    2,
  ) + "\n",
);
