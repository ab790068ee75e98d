// Runs every benchmark one after another (never in parallel: they measure
// time and CPU on a shared 2-core machine) and writes each one's JSON to
// bench/results/<name>.json. `npm run bench` (after `npm run build`).
//
//   node bench/run-all.mjs [name …]      e.g. node bench/run-all.mjs dev-reload
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const here = import.meta.dirname;
const all = readdirSync(here).filter((f) => f.endsWith(".mjs") && f !== "run-all.mjs").map((f) => f.replace(/\.mjs$/, ""));
const chosen = process.argv.slice(2);
const names = chosen.length > 0 ? chosen : all;
mkdirSync(join(here, "results"), { recursive: true });
let failed = 0;
for (const name of names) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark ${name}; have: ${all.join(", ")}`);
    failed++;
    continue;
  }
  console.error(`▶ ${name}`);
  const started = Date.now();
  try {
    const out = execFileSync(process.execPath, [join(here, `${name}.mjs`)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
    const json = out.slice(out.indexOf("{"));
    JSON.parse(json); // each benchmark prints one JSON document
    writeFileSync(join(here, "results", `${name}.json`), json);
    console.error(`✓ ${name} in ${((Date.now() - started) / 1000).toFixed(0)} s → bench/results/${name}.json`);
  } catch (error) {
    failed++;
    console.error(`✗ ${name}: ${error.message}`);
  }
}
process.exitCode = failed ? 1 : 0;
