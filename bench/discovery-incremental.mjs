// Discovery latency on a generated project: 2,000 source files (5 of them
// define remote functions and import a few helpers each), plus an ignored
// node_modules tree. Measures:
//   full         discover() with everything warm (rescan + rebuild all, no re-import of unchanged code)
//   cold         the very first discover() of a new instance (one sample per instance)
//   incremental  discover([candidate]) after the candidate's code changed (rebuild + import in the worker thread)
//   helper       discover([helper]) after a helper imported by one candidate changed
//   unrelated    discover([file]) after a file no bundle depends on changed
//
//   npm run build && node bench/discovery-incremental.mjs [--samples 30] [--files 2000]
//
// Prints JSON (milliseconds); RAW=1 adds every sample. Each incremental
// sample writes new code, so the hash changes and the bundle is really
// re-imported. Samples are 150 ms apart (faster than anyone saves): the
// thread that imports bundles is started ahead of each run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { argv, stdout, version } from "node:process";
import { createDiscovery } from "../dist/discovery/index.js";

const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const samples = arg("samples", 30);
const fileCount = arg("files", 2000);
const CANDIDATES = 5;

function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const round = (v) => Math.round(v * 10) / 10;
  return { n: sorted.length, p50: round(pick(50)), p95: round(pick(95)), min: round(sorted[0]), max: round(sorted[sorted.length - 1]) };
}

function write(root, rel, text) {
  mkdirSync(join(root, rel, ".."), { recursive: true });
  writeFileSync(join(root, rel), text);
}

function candidateSource(i, n) {
  return [
    'import { remote, CpuLiveServerless, CpuLiveLoadBalancer } from "flash-ts";',
    `import { helper${i} } from "../lib/helper-${i}.js";`,
    `import { shared } from "../lib/shared.js";`,
    `const cpu = new CpuLiveServerless({ name: "bench-${i}" });`,
    `const api = new CpuLiveLoadBalancer({ name: "bench-lb-${i}" });`,
    `export const run${i} = remote(cpu, async (input: { n: number }) => helper${i}(input.n) + shared + ${n});`,
    `export const other${i} = remote(cpu, async () => ${n});`,
    `export const get${i} = remote(api, { method: "GET", path: "/items/:id" }, async (q: { id: string }) => q.id);`,
    "",
  ].join("\n");
}

function generateProject() {
  const root = mkdtempSync(join(tmpdir(), "flash-bench-discovery-"));
  write(root, "package.json", JSON.stringify({ name: "bench", type: "module" }));
  write(root, ".gitignore", "node_modules/\n*.log\n");
  write(root, "lib/shared.ts", "export const shared = 1;\n");
  for (let i = 0; i < CANDIDATES; i++) {
    write(root, `workers/worker-${i}.ts`, candidateSource(i, 0));
    write(root, `lib/helper-${i}.ts`, `export function helper${i}(n: number): number {\n  return n * ${i + 1};\n}\n`);
  }
  const plain = fileCount - CANDIDATES * 2 - 1;
  for (let i = 0; i < plain; i++) {
    const dir = `src/area-${i % 20}/module-${Math.floor(i / 20) % 10}`;
    write(root, `${dir}/file-${i}.ts`, `// plain source file ${i}\nexport const value${i} = ${i};\nexport function f${i}(x: number): number {\n  return x + ${i};\n}\n`);
  }
  // Never scanned: pruned while walking.
  for (let i = 0; i < 500; i++) write(root, `node_modules/pkg-${i % 25}/lib/f-${i}.js`, "module.exports = 'remote';\n");
  return root;
}

const root = generateProject();
const cold = [];
const full = [];
const incremental = [];
const helper = [];
const unrelated = [];
try {
  for (let i = 0; i < 3; i++) {
    const d = createDiscovery({ root });
    const t = performance.now();
    const m = await d.discover();
    cold.push(performance.now() - t);
    if (m.functions.length !== CANDIDATES * 3 || m.issues.length > 0) throw new Error(`unexpected manifest: ${JSON.stringify(m.issues)}`);
    await d.close();
  }

  const discovery = createDiscovery({ root });
  await discovery.discover();
  // Let the prewarmed thread start, as it would between saves.
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < samples; i++) {
    let t = performance.now();
    await discovery.discover();
    full.push(performance.now() - t);

    const k = i % CANDIDATES;
    write(root, `workers/worker-${k}.ts`, candidateSource(k, i + 1));
    t = performance.now();
    const m = await discovery.discover([join(root, `workers/worker-${k}.ts`)]);
    incremental.push(performance.now() - t);
    if (m.stats.reloaded.length !== 1) throw new Error("the changed bundle was not re-imported");
    await new Promise((r) => setTimeout(r, 150));

    write(root, `lib/helper-${k}.ts`, `export function helper${k}(n: number): number {\n  return n * ${k + 1} + ${i};\n}\n`);
    t = performance.now();
    await discovery.discover([`lib/helper-${k}.ts`]);
    helper.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 150));

    write(root, `src/area-0/module-0/file-0.ts`, `export const value0 = ${i};\n`);
    t = performance.now();
    await discovery.discover(["src/area-0/module-0/file-0.ts"]);
    unrelated.push(performance.now() - t);
  }
  await discovery.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}

stdout.write(
  JSON.stringify(
    {
      bench: "discovery-incremental",
      node: version,
      cpus: cpus().length,
      files: fileCount,
      candidates: CANDIDATES,
      raw: process.env.RAW ? { full, incremental, helper, unrelated } : undefined,
      ms: { cold: summarize(cold), full: summarize(full), incremental: summarize(incremental), helper: summarize(helper), unrelated: summarize(unrelated) },
    },
    null,
    2,
  ) + "\n",
);
