// Builds the delivered worker runtime (docs/internals.md, "The worker runtime"):
// src/worker/runtime-entry.ts and everything it imports, npm packages included,
// as one ES module with no dependencies, dist/runtime/worker-runtime.mjs.
// Prints its size (raw and gzipped) as JSON. Run by `npm run build` after tsc.
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const outfile = join(root, "dist", "runtime", "worker-runtime.mjs");
mkdirSync(join(root, "dist", "runtime"), { recursive: true });
const result = await build({
  entryPoints: [join(root, "src", "worker", "runtime-entry.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  minify: true,
  // Error and class names are part of what users see (error.name, stack traces).
  keepNames: true,
  legalComments: "none",
  define: { "process.env.FLASH_TS_BUNDLED_VERSION": JSON.stringify(version) },
  // Some bundled packages use require() for Node built-ins; ESM output needs one.
  banner: { js: 'import { createRequire as __flashCreateRequire } from "node:module"; const require = __flashCreateRequire(import.meta.url);' },
  metafile: true,
  logLevel: "warning",
});
const text = readFileSync(outfile);
const external = Object.values(result.metafile.outputs)[0].imports.filter((i) => i.external && !i.path.startsWith("node:") && !/^[a-z_]+$/.test(i.path));
if (external.length > 0) throw new Error(`the worker runtime must not import npm packages at run time: ${external.map((i) => i.path).join(", ")}`);
const info = {
  version,
  sha256: createHash("sha256").update(text).digest("hex"),
  bytes: text.length,
  gzipBytes: gzipSync(text, { level: 9 }).length,
};
writeFileSync(join(root, "dist", "runtime", "worker-runtime.json"), JSON.stringify(info, null, 2) + "\n");
console.log(JSON.stringify(info));
