// Type schemas (docs/type-schemas.md) on a generated 20-file project: 8 model
// files (interfaces, enums, a generic Page<T>, a tagged union, types imported
// across files), 4 helpers, 8 worker files with 3 remote functions each, the
// SDK's types and @types/node resolvable. Measures, in one run:
//
//   cold            a new process: load TypeScript, first program, schemas of all 24 functions
//   coldTypecheck   baseline: the same project fully type-checked by the same compiler in a new process (what `tsc --noEmit` does)
//   afterModelEdit  extract() again after one model file changed (in-process extractor); with its CPU time,
//                   which the machine's load inflates less than wall time
//   afterWorkerEdit the same after one worker file changed (the common save)
//   service         after a worker edit, through the schema service (worker thread, message passing included)
//   discovery       baseline: discover([file]) after a worker file changed (the reload's critical path) alone,
//                   and with a schema extraction started in the thread at the same moment (CPU contention on this machine)
//
//   npm run build && node bench/type-schema.mjs [--samples 20]
//
// Prints JSON (milliseconds).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { argv, stdout, version } from "node:process";
import { fileURLToPath } from "node:url";
import { summarize } from "./lib/percentiles.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..");
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const samples = arg("samples", 20);
const MODELS = 7;
const WORKERS = 8;

function write(root, rel, text) {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

function modelSource(i, extra = "") {
  const parent = i > 0 ? `import type { Entity${i - 1} } from "./m${i - 1}.js";\n` : "";
  return `import type { Id, Timestamps, Status } from "./common.js";
${parent}
/** Entity number ${i}. */
export interface Entity${i} extends Timestamps {
  id: Id;
  name: string;
  status: Status;
  tags: string[];
  meta: Record<string, string | number>;
  ${i > 0 ? `parent?: Entity${i - 1};` : ""}
  children: Entity${i}[];
  position: [number, number];
  ${extra}
}

export type Event${i} = { kind: "created"; entity: Entity${i} } | { kind: "deleted"; id: Id } | { kind: "renamed"; id: Id; name: string };
`;
}

function workerSource(k, n = 0) {
  const m = k % MODELS;
  const u = k % 4;
  return `import { remote, CpuLiveServerless, CpuLiveLoadBalancer } from "flash-ts";
import type { Entity${m}, Event${m} } from "../models/m${m}.js";
import type { Page } from "../models/common.js";
import { util${u} } from "../lib/util${u}.js";

const cpu = new CpuLiveServerless({ name: "bench-${k}" });
const api = new CpuLiveLoadBalancer({ name: "bench-api-${k}" });

/**
 * Creates an entity.
 *
 * Version ${n}.
 */
export const create${k} = remote(cpu, async (input: { entity: Omit<Entity${m}, "id" | "createdAt" | "updatedAt">; dryRun?: boolean }): Promise<Entity${m}> => {
  return { ...input.entity, id: "e" as Entity${m}["id"], createdAt: new Date(), updatedAt: new Date(), version: ${n} } as Entity${m};
});

export const list${k} = remote(api, { method: "GET", path: "/items" }, async (query: { cursor?: string; limit?: number }): Promise<Page<Entity${m}>> => {
  return { items: [], next: query.cursor ?? null, total: util${u}(${n}) };
});

export const events${k} = remote(api, { method: "POST", path: "/events" }, async (body: { events: Event${m}[] }) => ({ accepted: body.events.length, at: new Date() }));
`;
}

function generateProject() {
  const root = mkdtempSync(join(tmpdir(), "flash-bench-type-schema-"));
  write(root, "package.json", JSON.stringify({ name: "bench-types", private: true, type: "module" }));
  write(
    root,
    "models/common.ts",
    `export type Id = string & { readonly __brand: "Id" };
export interface Timestamps { createdAt: Date; updatedAt: Date }
export enum Status { Active = "active", Disabled = "disabled", Archived = "archived" }
export interface Page<T> { items: T[]; next: string | null; total: number }
`,
  );
  for (let i = 0; i < MODELS; i++) write(root, `models/m${i}.ts`, modelSource(i));
  for (let j = 0; j < 4; j++) write(root, `lib/util${j}.ts`, `export function util${j}(n: number): number {\n  return n * ${j + 1};\n}\n`);
  for (let k = 0; k < WORKERS; k++) write(root, `workers/w${k}.ts`, workerSource(k));
  // The SDK's types through the package (dist/), and Node's, as an installed project has them.
  mkdirSync(join(root, "node_modules", "@types"), { recursive: true });
  symlinkSync(repo, join(root, "node_modules", "flash-ts"), "dir");
  symlinkSync(join(repo, "node_modules", "@types", "node"), join(root, "node_modules", "@types", "node"), "dir");
  return root;
}

function targets() {
  const out = [];
  for (let k = 0; k < WORKERS; k++) {
    for (const name of [`create${k}`, `list${k}`, `events${k}`]) out.push({ id: `workers/w${k}.ts#${name}`, file: `workers/w${k}.ts`, export: name });
  }
  return out;
}

// A child process for cold figures: `node bench/type-schema.mjs --child <mode> <root>`.
if (argv[2] === "--child") {
  const [mode, root] = argv.slice(3);
  const t0 = performance.now();
  if (mode === "extract") {
    const { createTypeSchemaExtractor } = await import("../dist/discovery/type-schema/extractor.js");
    const set = createTypeSchemaExtractor({ root }).extract(targets());
    if (set.issues.length > 0 || Object.keys(set.functions).length !== WORKERS * 3) throw new Error(`unexpected result: ${JSON.stringify(set.issues)}`);
    stdout.write(JSON.stringify({ ms: performance.now() - t0, programMs: set.stats.program.durationMs, sourceFiles: set.stats.program.sourceFiles, definitions: set.stats.definitions }));
  } else {
    const { createRequire } = await import("node:module");
    const ts = createRequire(import.meta.url)("typescript");
    const { projectCompilerOptions } = await import("../dist/discovery/type-schema/program-host.js");
    const files = [...new Set(targets().map((t) => join(root, t.file)))];
    const program = ts.createProgram(files, projectCompilerOptions(root));
    const diagnostics = ts.getPreEmitDiagnostics(program);
    if (diagnostics.length > 0) throw new Error(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" }));
    stdout.write(JSON.stringify({ ms: performance.now() - t0 }));
  }
  process.exit(0);
}

const child = (mode, root) => JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--child", mode, root], { encoding: "utf8" }));
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

const root = generateProject();
const result = { bench: "type-schema", node: version, cpus: cpus().length, files: 1 + MODELS + 4 + WORKERS, functions: WORKERS * 3 };
try {
  const cold = [];
  const coldProgram = [];
  const coldTypecheck = [];
  for (let i = 0; i < 3; i++) {
    const c = child("extract", root);
    cold.push(c.ms);
    coldProgram.push(c.programMs);
    result.sourceFiles = c.sourceFiles;
    result.definitions = c.definitions;
    coldTypecheck.push(child("typecheck", root).ms);
  }

  const { createTypeSchemaExtractor } = await import("../dist/discovery/type-schema/extractor.js");
  const { createTypeSchemaService } = await import("../dist/discovery/type-schema/index.js");
  const { createDiscovery } = await import("../dist/discovery/index.js");

  // Incremental, in-process: a model imported by one or two workers gains a property; then a worker's code changes.
  const extractor = createTypeSchemaExtractor({ root });
  extractor.extract(targets());
  const modelEdit = { wall: [], cpu: [], program: [], reused: [] };
  const workerEdit = { wall: [], cpu: [], program: [], reused: [] };
  const measure = (into, changed, check) => {
    const cpu = process.cpuUsage();
    const t = performance.now();
    const set = extractor.extract(targets(), { changedPaths: [join(root, changed)] });
    into.wall.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    into.cpu.push((used.user + used.system) / 1000);
    into.program.push(set.stats.program.durationMs);
    into.reused.push(set.stats.reusedFunctions);
    if (set.stats.program.parsedFiles !== 1 || !check(set)) throw new Error(`the edit of ${changed} was not picked up incrementally`);
  };
  for (let i = 0; i < samples; i++) {
    const m = i % MODELS;
    write(root, `models/m${m}.ts`, modelSource(m, `field${i}?: number;`));
    measure(modelEdit, `models/m${m}.ts`, (set) => set.definitions[`Entity${m}`]?.properties?.[`field${i}`]);
    const k = i % WORKERS;
    write(root, `workers/w${k}.ts`, workerSource(k, 1000 + i));
    measure(workerEdit, `workers/w${k}.ts`, (set) => set.functions[`workers/w${k}.ts#create${k}`]?.description === `Version ${1000 + i}.`);
  }
  extractor.dispose();

  // A worker edit through the worker thread.
  const service = createTypeSchemaService({ root });
  await service.extract(targets());
  const viaService = [];
  for (let i = 0; i < samples; i++) {
    const k = i % WORKERS;
    write(root, `workers/w${k}.ts`, workerSource(k, 2000 + i));
    const t = performance.now();
    const outcome = await service.extract(targets(), { changedPaths: [join(root, `workers/w${k}.ts`)] });
    viaService.push(performance.now() - t);
    if (outcome.status !== "done") throw new Error(`service: ${outcome.status}`);
  }

  // Baseline: the reload's critical path, alone and with an extraction running beside it.
  const discovery = createDiscovery({ root });
  await discovery.discover();
  await pause(300);
  const alone = [];
  const contended = [];
  for (let i = 0; i < samples * 2; i++) {
    const k = i % WORKERS;
    write(root, `workers/w${k}.ts`, workerSource(k, i + 1));
    const concurrent = i % 2 === 1;
    const t = performance.now();
    const extraction = concurrent ? service.extract(targets(), { changedPaths: [join(root, `workers/w${k}.ts`)] }) : undefined;
    const manifest = await discovery.discover([join(root, `workers/w${k}.ts`)]);
    (concurrent ? contended : alone).push(performance.now() - t);
    if (manifest.stats.reloaded.length !== 1 || manifest.issues.length > 0) throw new Error(`discovery: ${JSON.stringify(manifest.issues)}`);
    await extraction;
    await pause(150);
  }
  await discovery.close();
  await service.close();

  result.ms = {
    cold: summarize(cold),
    coldProgram: summarize(coldProgram),
    coldTypecheck: summarize(coldTypecheck),
    afterModelEdit: { wall: summarize(modelEdit.wall), cpu: summarize(modelEdit.cpu), program: summarize(modelEdit.program), reusedFunctions: summarize(modelEdit.reused) },
    afterWorkerEdit: { wall: summarize(workerEdit.wall), cpu: summarize(workerEdit.cpu), program: summarize(workerEdit.program), reusedFunctions: summarize(workerEdit.reused) },
    service: summarize(viaService),
    discoveryAlone: summarize(alone),
    discoveryWithExtraction: summarize(contended),
  };
} finally {
  rmSync(root, { recursive: true, force: true });
}
stdout.write(JSON.stringify(result, null, 2) + "\n");
