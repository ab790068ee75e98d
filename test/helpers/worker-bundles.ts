/**
 * Test helpers for the worker runtime: hand-written bundles (ES module text
 * that imports "flash-ts" and ends with the tagging call the real bundler
 * appends), FunctionRequests for them, and temporary cache folders.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FUNCTION_PROTOCOL_VERSION } from "../../src/common/function-protocol.js";
import type { EndpointRef, FunctionRequest, FunctionResponse, FunctionSuccess } from "../../src/common/function-protocol.js";
import { sha256 } from "../../src/common/hash.js";
import { decodeValue, encodeValue } from "../../src/common/value-codec.js";
import { FIXTURES } from "./paths.js";

export interface TestModule {
  hash: string;
  code: string;
}

/**
 * A bundle: `body` (which defines and exports remote functions), followed by the
 * tagging call for `file` with the given export names, exactly as the bundler appends it.
 */
export function bundle(body: string, file: string, exportNames: string[]): TestModule {
  const code = `${body}\nglobalThis[Symbol.for("flash-ts.registry")].tagModule({ ${exportNames.join(", ")} }, ${JSON.stringify(file)}, import.meta.url);\n`;
  return { hash: sha256(code), code };
}

/** A unique suffix, so bundles in one process never collide by content. */
let counter = 0;
export function unique(): string {
  return `${process.pid}-${Date.now()}-${++counter}`;
}

export interface RequestExtras {
  method?: string;
  instance?: { id: string; args: unknown[] };
  withCode?: boolean;
  dependencies?: string[];
  endpoints?: Record<string, EndpointRef>;
  timeoutMs?: number;
}

export function makeRequest(mod: TestModule, file: string, exportName: string, args: unknown[] = [], extras: RequestExtras = {}): FunctionRequest {
  return {
    flash: FUNCTION_PROTOCOL_VERSION,
    module: extras.withCode === false ? { hash: mod.hash } : { hash: mod.hash, code: mod.code },
    target: { file, export: exportName, ...(extras.method ? { method: extras.method } : {}) },
    args: args.map((a) => encodeValue(a)),
    ...(extras.instance ? { instance: { id: extras.instance.id, args: extras.instance.args.map((a) => encodeValue(a)) } } : {}),
    ...(extras.dependencies ? { dependencies: extras.dependencies } : {}),
    ...(extras.endpoints ? { endpoints: extras.endpoints } : {}),
    ...(extras.timeoutMs !== undefined ? { timeoutMs: extras.timeoutMs } : {}),
  };
}

/** The decoded result of a successful response; fails the test with the error otherwise. */
export function resultOf(response: FunctionResponse): unknown {
  if (!response.ok) throw new Error(`expected success, got ${response.error.kind}: ${response.error.name}: ${response.error.message}\n${response.error.stack ?? ""}`);
  return decodeValue((response as FunctionSuccess).result);
}

export async function tempDir(prefix = "flash-worker-test-"): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The fixture project used to check stack remapping (real TypeScript, bundled with esbuild). */
export const FIXTURE_PROJECT = join(FIXTURES, "worker", "project");

/**
 * Bundles a fixture project file the way discovery does: ESM for Node, bare
 * imports external, inline source map without sources content, written (in
 * memory) to `<project>/node_modules/.cache/flash-ts/bundles/`, with the
 * tagging call appended to every project file.
 */
export async function bundleFixture(entry: string, project = FIXTURE_PROJECT): Promise<TestModule> {
  const esbuild = await import("esbuild");
  const { readFile } = await import("node:fs/promises");
  const { relative } = await import("node:path");
  const result = await esbuild.build({
    entryPoints: [join(project, entry)],
    absWorkingDir: project,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    packages: "external",
    sourcemap: "inline",
    sourcesContent: false,
    write: false,
    outfile: join(project, "node_modules", ".cache", "flash-ts", "bundles", entry.replace(/\.[cm]?[jt]s$/, ".mjs")),
    plugins: [
      {
        name: "flash-tag",
        setup(build) {
          build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
            const file = relative(project, args.path).split("\\").join("/");
            const base = "./" + args.path.split(/[\\/]/).pop();
            const text = await readFile(args.path, "utf8");
            return {
              loader: "ts",
              contents: `${text}\nimport * as __flash_self from ${JSON.stringify(base)};\nglobalThis[Symbol.for("flash-ts.registry")]?.tagModule(__flash_self, ${JSON.stringify(file)}, import.meta.url);\n`,
            };
          });
        },
      },
    ],
  });
  const code = result.outputFiles[0]?.text ?? "";
  return { hash: sha256(code), code };
}
