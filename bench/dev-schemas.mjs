// What type schemas cost `flash dev` (docs/type-schemas.md, "Figures"): the
// reload latency of bench/dev-reload.mjs's project (2,000 files, a save →
// the new value served, native file events, saves 150 ms apart) with schemas
// on, beside FLASH_SCHEMAS=0 (and, when BENCH_BASE_CLI names another build's
// CLI, that build), interleaved round by round so the machine's noise falls
// on all alike; and the dev process's memory and CPU time with and without
// the schema thread: at start, once the first schemas are ready, and per
// reload.
//
//   npm run build && node bench/dev-schemas.mjs      (BENCH_ROUNDS=4, BENCH_SAMPLES=10 per round)
//   BENCH_BASE_CLI=/path/to/main/dist/cli/index.js node bench/dev-schemas.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateWatchTree } from "./lib/watch-tree.mjs";
import { summarize } from "./lib/percentiles.mjs";
import { startDev } from "./lib/dev-process.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 10);
const FILES = Number(process.env.BENCH_FILES ?? 2000);
const TICK_MS = 1000 / 100; // USER_HZ, as /proc reports CPU time

const tree = generateWatchTree({ files: FILES - 6, ignoredFiles: 2000 });
// As in dev-reload.mjs, with a typed parameter so the schemas have something to say.
const worker = (value) => `import { remote, CpuLiveServerless } from "flash-ts";
import { f10 } from "./src/api/feature-1/part-0/mod-10.js";
const cpu = new CpuLiveServerless({ name: "reload-bench", workersMax: 1 });
/** Answers with the current value. */
export const answer = remote(cpu, async (input: { name?: string; times?: number }) => ({ value: ${JSON.stringify(value)}, helper: f10(1), name: input.name ?? null }));
`;
writeFileSync(join(tree.root, "worker.ts"), worker("start"));
for (let i = 0; i < 4; i++) {
  writeFileSync(
    join(tree.root, `other${i}.ts`),
    `import { remote, CpuLiveServerless } from "flash-ts";\nexport const f${i} = remote(new CpuLiveServerless({ name: "other${i}" }), async (input: { n: number }) => input.n + ${i});\n`,
  );
}

const configs = [
  { name: "schemas on", env: {} },
  { name: "FLASH_SCHEMAS=0", env: { FLASH_SCHEMAS: "0" } },
  ...(process.env.BENCH_BASE_CLI ? [{ name: "base build", env: {}, cli: process.env.BENCH_BASE_CLI }] : []),
];

async function call(url) {
  const res = await fetch(`${url}/worker/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"input": {}}' });
  return (await res.json())?.output?.value;
}

/** The process's resident memory (MB) and CPU time (ms, all threads). */
function usage(pid) {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { rssMb: rss, cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
}

/** Waits until /openapi.json has the schemas of the generation served (a benchmark may poll). */
async function schemasReady(url, timeoutMs = 120_000) {
  const t0 = performance.now();
  for (;;) {
    const doc = await (await fetch(`${url}/openapi.json`)).json();
    const state = doc["x-flash-schemas"];
    if (!state || state.status === "off") return false;
    if (state.status === "ready" && state.generation === doc["x-flash-generation"]) return true;
    if (performance.now() - t0 > timeoutMs) throw new Error(`schemas not ready within ${timeoutMs} ms: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const results = Object.fromEntries(configs.map((c) => [c.name, { samples: [], startRss: [], startCpu: [], readyRss: [], readyCpu: [], reloadCpu: [], endRss: [] }]));

for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round: none is always first after a quiet moment.
  const order = configs.map((_, i) => configs[(i + round) % configs.length]);
  for (const config of order) {
    const r = results[config.name];
    const dev = await startDev(tree.root, { env: { FLASH_WATCH: "native", ...config.env }, ...(config.cli ? { cli: config.cli } : {}) });
    const pid = dev.child.pid;
    try {
      // At the banner: the schema thread starts just after it.
      const start = usage(pid);
      r.startRss.push(start.rssMb);
      r.startCpu.push(start.cpuMs);
      for (let i = 0; i < 3; i++) await call(dev.url); // provision + warm the worker
      if (config.name === "schemas on") await schemasReady(dev.url);
      else await new Promise((res) => setTimeout(res, 300));
      const ready = usage(pid);
      r.readyRss.push(ready.rssMb);
      r.readyCpu.push(ready.cpuMs - start.cpuMs);
      const before = usage(pid);
      for (let i = 0; i < SAMPLES; i++) {
        const value = `${config.name}-${round}-${i}`;
        const t0 = performance.now();
        writeFileSync(join(tree.root, "worker.ts"), worker(value));
        for (;;) {
          if ((await call(dev.url)) === value) break;
          if (performance.now() - t0 > 20_000) throw new Error(`${config.name}: ${value} was not served within 20 s`);
        }
        r.samples.push(performance.now() - t0);
        await new Promise((res) => setTimeout(res, 150)); // as dev-reload.mjs
      }
      if (config.name === "schemas on") await schemasReady(dev.url);
      const after = usage(pid);
      r.reloadCpu.push((after.cpuMs - before.cpuMs) / SAMPLES);
      r.endRss.push(after.rssMb);
    } finally {
      await dev.stop();
    }
  }
}

const med = (values) => summarize(values).p50;
const summary = Object.fromEntries(
  configs.map((c) => {
    const r = results[c.name];
    return [
      c.name,
      {
        reload: summarize(r.samples),
        rssMbAfterStart: med(r.startRss),
        rssMbWithFirstSchemas: med(r.readyRss),
        rssMbAfterReloads: med(r.endRss),
        /** From the banner until the first schemas are ready (3 warm-up calls included; off: the same calls). */
        cpuMsStartToSchemas: med(r.readyCpu),
        cpuMsPerReload: med(r.reloadCpu),
      },
    ];
  }),
);
console.log(
  JSON.stringify(
    {
      benchmark: "dev-schemas",
      description: `type schemas' cost in flash dev: reload latency (native events, ${FILES}-file project, saves 150 ms apart) and the process's memory and CPU, with schemas on vs FLASH_SCHEMAS=0, ${ROUNDS} interleaved rounds of ${SAMPLES} saves`,
      node: process.version,
      ...summary,
      target: { reloadP50Ms: 100 },
    },
    null,
    2,
  ),
);
tree.cleanup();
