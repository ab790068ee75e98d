/**
 * "The package" for tests: src/ transpiled with esbuild into a package folder
 * laid out like the published one (package.json, dist/ with the delivered
 * worker runtime, assets/, Dockerfile…), in about a second. Tests that need a runnable flash-ts — a CLI to spawn, an
 * SDK for bundles' `import "flash-ts"` to link to, a worker runtime for the
 * emulator — get it from here, so they never run a missing or stale dist/
 * (docs/internals.md, "Tests").
 *
 * The folder lives under the repository's node_modules/.cache, so the
 * transpiled code resolves its dependencies from the repository's
 * node_modules like an installed package would, and `npm ci` clears what a
 * killed run left behind.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { REPO_ROOT } from "./paths.js";

const SOURCE_PACKAGES = join(REPO_ROOT, "node_modules", ".cache", "flash-ts-source");

function sourceFiles(): string[] {
  const src = join(REPO_ROOT, "src");
  return readdirSync(src, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => join(src, file));
}

/** Builds src/ into a fresh package folder and returns its path. */
export async function buildSourcePackage(): Promise<string> {
  mkdirSync(SOURCE_PACKAGES, { recursive: true });
  const root = mkdtempSync(join(SOURCE_PACKAGES, "pkg-"));
  await build({
    entryPoints: sourceFiles(),
    outdir: join(root, "dist"),
    outbase: join(REPO_ROOT, "src"),
    format: "esm",
    platform: "node",
    target: "node22",
    sourcemap: "linked",
    logLevel: "error",
  });
  // The delivered worker runtime (dist/runtime/), made by the same script as `npm run build`.
  const script = pathToFileURL(join(REPO_ROOT, "scripts", "build-runtime.mjs")).href;
  const { buildRuntime } = (await import(script)) as { buildRuntime(outRoot: string): Promise<unknown> };
  await buildRuntime(root);
  // Everything else the published package carries ("files" in package.json), as it is in the repository.
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { files: string[] };
  for (const entry of ["package.json", ...pkg.files]) {
    if (entry === "dist" || !existsSync(join(REPO_ROOT, entry))) continue;
    cpSync(join(REPO_ROOT, entry), join(root, entry), { recursive: true });
  }
  return root;
}

export function removeSourcePackage(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/**
 * Why the repository's dist/ cannot stand for src/ (missing, or a source file
 * newer than its compiled output), or undefined when it can. For the tests
 * that need the real build (the dev image is built from dist/; `npm pack`).
 */
export function staleBuild(): string | undefined {
  const src = join(REPO_ROOT, "src");
  for (const file of sourceFiles()) {
    const rel = relative(src, file).replace(/\.ts$/, ".js");
    const out = join(REPO_ROOT, "dist", rel);
    if (!existsSync(out)) return `dist/${rel} is missing`;
    if (statSync(out).mtimeMs < statSync(file).mtimeMs) return `dist/${rel} is older than src/${relative(src, file)}`;
  }
  return undefined;
}
