// What the dev server adds on top of the emulator: the same trivial function
// called (a) through `flash dev`'s route and (b) directly through the
// emulator's runsync with the same FunctionRequest, interleaved call by call
// in one run so machine noise hits both alike.
//
//   npm run build && node bench/dev-overhead.mjs       (BENCH_CALLS=1000)
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarize, median } from "./lib/percentiles.mjs";
import { startDev } from "./lib/dev-process.mjs";
import { createHttpClient, createJobClient } from "../dist/runpod/index.js";

const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const root = mkdtempSync(join(tmpdir(), "flash-bench-overhead-"));
writeFileSync(
  join(root, "trivial.ts"),
  `import { remote, CpuLiveServerless } from "flash-ts";
export const add = remote(new CpuLiveServerless({ name: "overhead" }), async (input: { a: number; b: number }) => input.a + input.b);
`,
);

// A known key for the embedded emulator, so this script can call it directly too.
const EMULATOR_KEY = "bench-emulator-key-0123456789";
const dev = await startDev(root, { env: { FLASH_EMULATOR_API_KEY: EMULATOR_KEY } });
try {
  // Both paths use the same HTTP client (undici via flash-ts's http layer), so the
  // difference is the dev server, not the client.
  const devHttp = createHttpClient();
  const viaDev = async () => {
    const res = await devHttp.request({ method: "POST", url: `${dev.url}/trivial/run_sync`, json: { input: { a: 2, b: 3 } }, timeoutMs: 30_000 });
    if (res.body?.output !== 5) throw new Error(JSON.stringify(res.body));
  };
  for (let i = 0; i < 20; i++) await viaDev();

  // The same request the dev server sends: its bundle, endpoint and target.
  const bundles = join(root, "node_modules", ".cache", "flash-ts", "bundles");
  const code = readFileSync(join(bundles, readdirSync(bundles).find((f) => f.startsWith("trivial."))), "utf8");
  const hash = createHash("sha256").update(code).digest("hex");
  const cache = JSON.parse(readFileSync(join(root, ".runpod", "resources.json"), "utf8"));
  const endpointId = Object.values(cache.endpoints).find((e) => e.name === "live-overhead").id;
  const http = createHttpClient();
  const jobs = createJobClient({ apiKey: EMULATOR_KEY, endpointBaseUrl: `${dev.emulatorUrl}/v2`, http });
  const input = { flash: 1, module: { hash }, target: { file: "trivial.ts", export: "add" }, args: [{ a: 2, b: 3 }], dependencies: [] };
  const direct = async () => {
    const job = await jobs.runSync(endpointId, { input }, { waitMs: 30_000 });
    if (job.output?.result !== 5) throw new Error(JSON.stringify(job));
  };
  for (let i = 0; i < 20; i++) await direct();

  const a = [];
  const b = [];
  for (let i = 0; i < CALLS; i++) {
    let t = performance.now();
    await viaDev();
    a.push(performance.now() - t);
    t = performance.now();
    await direct();
    b.push(performance.now() - t);
  }
  const added = median(a) - median(b);
  const result = {
    benchmark: "dev-overhead",
    description: "p50 of a trivial QB call through flash dev minus the same call made directly to the emulator (interleaved)",
    node: process.version,
    viaDevServer: summarize(a),
    directToEmulator: summarize(b),
    addedP50Ms: Math.round(added * 100) / 100,
    target: { addedP50Ms: 1 },
    meetsTarget: added <= 1,
  };
  console.log(JSON.stringify(result, null, 2));
  await http.close();
  await devHttp.close();
} finally {
  await dev.stop();
  rmSync(root, { recursive: true, force: true });
}
