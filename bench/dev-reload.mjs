// Reload latency of `flash dev`: file saved → the new code is served, on a
// project of 2,000 files, with polling and with native file events, measured
// side by side in one run. A sample is the time from writing the file to the
// first response that shows the new return value, with requests sent back to
// back (so the figure includes the watcher, discovery, the route swap and the
// call to the worker with the new module). The baseline, measured in the
// same run on the same tree, is a restart-based reloader: `node --watch`
// restarting a bare HTTP server that imports the changed module.
//
//   npm run build && node bench/dev-reload.mjs        (BENCH_SAMPLES=30)
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateWatchTree } from "./lib/watch-tree.mjs";
import { summarize } from "./lib/percentiles.mjs";
import { startDev } from "./lib/dev-process.mjs";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const FILES = Number(process.env.BENCH_FILES ?? 2000);

const tree = generateWatchTree({ files: FILES - 6, ignoredFiles: 2000 });
const worker = (value) => `import { remote, CpuLiveServerless } from "flash-ts";
import { f10 } from "./src/api/feature-1/part-0/mod-10.js";
const cpu = new CpuLiveServerless({ name: "reload-bench", workersMax: 1 });
export const answer = remote(cpu, async () => ({ value: ${JSON.stringify(value)}, helper: f10(1) }));
`;
writeFileSync(join(tree.root, "worker.ts"), worker("start"));
for (let i = 0; i < 4; i++) {
  writeFileSync(
    join(tree.root, `other${i}.ts`),
    `import { remote, CpuLiveServerless } from "flash-ts";\nexport const f${i} = remote(new CpuLiveServerless({ name: "other${i}" }), async () => ${i});\n`,
  );
}

async function call(url) {
  const res = await fetch(`${url}/worker/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const body = await res.json();
  return body?.output?.value;
}

async function run(mode) {
  const dev = await startDev(tree.root, { env: { FLASH_WATCH: mode } });
  try {
    for (let i = 0; i < 3; i++) await call(dev.url); // provision + warm the worker
    const samples = [];
    for (let i = 0; i < SAMPLES; i++) {
      const value = `${mode}-${i}`;
      const t0 = performance.now();
      writeFileSync(join(tree.root, "worker.ts"), worker(value));
      for (;;) {
        if ((await call(dev.url)) === value) break;
        if (performance.now() - t0 > 20_000) throw new Error(`${mode}: the change to ${value} was not served within 20 s`);
      }
      samples.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 150)); // let the previous reload settle
    }
    const watchLine = dev.output().match(/watching [^\n]+/)?.[0];
    return { watcher: watchLine, ...summarize(samples) };
  } finally {
    await dev.stop();
  }
}

async function baselineNodeWatch() {
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(join(tree.root, "value.mjs"), `export const value = "start";\n`);
  writeFileSync(
    join(tree.root, "server.mjs"),
    `import { createServer } from "node:http";\nimport { value } from "./value.mjs";\ncreateServer((q, r) => r.end(JSON.stringify({ value }))).listen(${port}, "127.0.0.1");\n`,
  );
  // Its own process group: `node --watch` runs the server as a child, which must go too.
  const child = spawn(process.execPath, ["--watch", "server.mjs"], { cwd: tree.root, stdio: "ignore", detached: true });
  const get = async () => {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/`)).json()).value;
    } catch {
      return undefined; // refused while restarting
    }
  };
  try {
    const t0 = performance.now();
    while ((await get()) !== "start") if (performance.now() - t0 > 20_000) throw new Error("node --watch server did not start");
    const samples = [];
    for (let i = 0; i < SAMPLES; i++) {
      const value = `watch-${i}`;
      const t = performance.now();
      writeFileSync(join(tree.root, "value.mjs"), `export const value = ${JSON.stringify(value)};\n`);
      while ((await get()) !== value) if (performance.now() - t > 20_000) throw new Error("node --watch did not reload");
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 150));
    }
    return { what: "node --watch restarting a bare node:http server", ...summarize(samples) };
  } finally {
    process.kill(-child.pid, "SIGKILL");
  }
}

const result = {
  benchmark: "dev-reload",
  description: `file save → new code served through flash dev (local emulator), ${FILES}-file project`,
  node: process.version,
  poll: await run("poll"),
  native: await run("native"),
  baseline: await baselineNodeWatch(),
  targets: { pollP50Ms: 300, nativeP50Ms: 150 },
};
result.meetsTargets = { poll: result.poll.p50 <= 300, native: result.native.p50 <= 150 };
console.log(JSON.stringify(result, null, 2));
tree.cleanup();
