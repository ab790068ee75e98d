// Builds the delivered worker runtime (docs/internals.md, "The worker runtime"):
// src/worker/runtime-entry.ts and everything it imports, npm packages included,
// as one ES module with no dependencies, dist/runtime/worker-runtime.mjs.
// Prints its size (raw and gzipped) as JSON. Run by `npm run build` after tsc.
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";

const repoRoot = join(import.meta.dirname, "..");

/**
 * Bundles src/worker/runtime-entry.ts of the repository into `<outRoot>/dist/runtime/`
 * (the package's own build, or the throwaway package the tests build from src/).
 * Returns the size report it also writes next to the bundle.
 */
export async function buildRuntime(outRoot = repoRoot) {
  const root = repoRoot;
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const outfile = join(outRoot, "dist", "runtime", "worker-runtime.mjs");
  mkdirSync(join(outRoot, "dist", "runtime"), { recursive: true });
  // The runtime uses undici's Agent only (the platform client, the Runpod clients for nested
  // calls). undici's index also pulls in fetch, WebSocket, caches and mocks; taking the Agent's
  // own module keeps the bundle a third smaller. Importing anything else from "undici" fails the
  // build ("No matching export"), so a new use is noticed here, not at run time.
  const undiciRoot = dirname(createRequire(import.meta.url).resolve("undici"));
  const undiciFile = (...parts) => JSON.stringify(join(undiciRoot, "lib", ...parts));
  const undiciAgentOnly = {
    name: "undici-agent-only",
    setup(b) {
      b.onResolve({ filter: /^undici$/ }, () => ({ path: "undici-agent-only", namespace: "flash" }));
      // As undici's index does: the request API lives on Dispatcher's prototype.
      const contents = [
        `import Agent from ${undiciFile("dispatcher", "agent.js")};`,
        `import Dispatcher from ${undiciFile("dispatcher", "dispatcher.js")};`,
        `import api from ${undiciFile("api", "index.js")};`,
        "Object.assign(Dispatcher.prototype, api);",
        "export { Agent };",
      ].join("\n");
      b.onLoad({ filter: /.*/, namespace: "flash" }, () => ({ contents, loader: "js", resolveDir: root }));
    },
  };
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
    plugins: [undiciAgentOnly],
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
  writeFileSync(join(outRoot, "dist", "runtime", "worker-runtime.json"), JSON.stringify(info, null, 2) + "\n");
  return info;
}

// Run as a script (`npm run build`): build into the repository's dist/ and print the report.
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  console.log(JSON.stringify(await buildRuntime()));
}
