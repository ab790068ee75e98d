// "File written → batch delivered" latency of the watcher, on a 2,000-file
// project (plus ignored node_modules/.git/dist), for hot files in poll and
// native modes (poll with the default 75 ms hot interval and with 50 ms), and
// for cold files in poll mode (slow tier, for reference).
//
//   npm run build && node bench/watch-latency.mjs [--samples 40] [--files 2000]
//
// The writer and the watcher share this process (as the dev server's
// watcher shares it with everything else). Each sample waits a random
// 100–400 ms first so writes land at random phases of the poll timers.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { argv, stdout, version } from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { cpus } from "node:os";
import { createWatcher, WATCH_DEFAULTS } from "../dist/watch/index.js";
import { summarize } from "./lib/percentiles.mjs";
import { generateWatchTree } from "./lib/watch-tree.mjs";

const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const samples = arg("samples", 40);
const coldSamples = arg("cold-samples", 10);
const fileCount = arg("files", 2000);

const tree = generateWatchTree({ files: fileCount });
const sources = tree.files.filter((f) => f.endsWith(".ts") && !f.includes(".test."));
const hot = sources.slice(0, 10);
const cold = sources.slice(-50);

/** Writes `path` and resolves with the ms until a batch containing it arrives. */
function timeOne(watcher, path, n, timeoutMs) {
  return new Promise((resolve, reject) => {
    let started = 0;
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no batch for ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = watcher.onChange((batch) => {
      if (!batch.paths.includes(path)) return;
      clearTimeout(timer);
      off();
      resolve(performance.now() - started);
    });
    started = performance.now();
    writeFileSync(join(tree.root, path), `export const v = ${n}; // ${Date.now()}\n`);
  });
}

async function run(mode, files, count, timeoutMs, options = {}) {
  const watcher = createWatcher({ root: tree.root, mode, ...options });
  watcher.setHotFiles(hot);
  await watcher.ready;
  await sleep(200);
  const latencies = [];
  try {
    for (let i = 0; i < count; i++) {
      await sleep(100 + Math.random() * 300);
      latencies.push(await timeOne(watcher, files[i % files.length], i, timeoutMs));
    }
    return { ...summarize(latencies), stats: watcher.stats() };
  } finally {
    await watcher.close();
  }
}

const results = {};
try {
  results["poll-hot"] = await run("poll", hot, samples, 5000);
  results["poll-hot-50ms"] = await run("poll", hot, samples, 5000, { hotIntervalMs: 50 });
  results["native-hot"] = await run("native", hot, samples, 5000);
  results["poll-cold"] = await run("poll", cold, coldSamples, 20000);
} finally {
  tree.cleanup();
}

stdout.write(
  JSON.stringify(
    {
      benchmark: "watch-latency",
      unit: "ms from writeFileSync to the batch listener",
      machine: { cpus: cpus().length, node: version },
      tree: { watchedFiles: tree.files.length, ignoredFiles: tree.ignoredFiles, hotFiles: hot.length },
      defaults: WATCH_DEFAULTS,
      results,
    },
    null,
    2,
  ) + "\n",
);
