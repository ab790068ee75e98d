/**
 * Shared pieces of the Docker tests: the dev image (built once per run, even
 * across test files running in parallel), temporary project copies, free
 * ports, polling helpers, the host-CLI harness as a child process, and cleanup
 * of everything labelled with a project.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createContainerRuntime } from "../../src/container/engine-runtime.js";
import { resolveDockerEndpoints } from "../../src/container/docker-endpoint.js";
import type { ContainerRuntime } from "../../src/container/container-runtime.js";
import { ensureDevImage } from "../../src/container/dev-image.js";
import { projectIdentity } from "../../src/container/dev-container-spec.js";
import { LABELS } from "../../src/container/labels.js";
import { createLogger } from "../../src/shared/logger.js";
import { PACKAGE_ROOT, readPackageVersion } from "../../src/shared/package-info.js";

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
export const FIXTURE = join(REPO_ROOT, "test", "fixtures", "container-project");
export const HARNESS = join(REPO_ROOT, "test", "container", "harness", "dev-host.mjs");
export const CLI = join(REPO_ROOT, "dist", "cli", "index.js");
/** The stand-in for `flash dev` inside (see the fixture's stand-in-server.mjs). */
export const STAND_IN = ["node", "stand-in-server.mjs"];
/** A uid/gid that is not the test runner's, to see file ownership pass through. */
export const OTHER_USER = { uid: 4321, gid: 4321 };

export function runtime(): ContainerRuntime {
  const [endpoint] = resolveDockerEndpoints({ env: process.env }).endpoints;
  if (!endpoint) throw new Error("no Docker endpoint");
  return createContainerRuntime(endpoint);
}

/**
 * The product's dev image (`flash-dev:<version>`, from dist/), built at most
 * once per run: a directory lock serialises test files that ask at once; the
 * others then find it up to date. It is kept after the run, like a user's —
 * ensureDevImage removes the build it replaces, so they do not pile up.
 */
export async function devImage(): Promise<string> {
  const lock = join(tmpdir(), "flash-ts-test-dev-image.lock");
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than 10 minutes belongs to a run that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      if (i > 3000) throw new Error("timed out waiting for the dev image lock");
      await sleep(200);
    }
  }
  try {
    const logger = createLogger({ level: process.env.FLASH_TEST_BUILD_LOG ? "debug" : "warn" });
    const image = await ensureDevImage({ runtime: runtime(), logger, packageRoot: PACKAGE_ROOT, version: readPackageVersion() });
    return image.ref;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A fresh copy of a fixture project in a temp folder, optionally owned by another user. */
export function tempProject(source = FIXTURE, owner?: { uid: number; gid: number }): string {
  const dir = mkdtempSync(join(tmpdir(), "flash-ct-"));
  cpSync(source, dir, { recursive: true, filter: (p) => !/[/\\](node_modules|\.runpod)$/.test(p) });
  if (owner && process.getuid?.() === 0) chownTree(dir, owner.uid, owner.gid);
  return dir;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** Removes the project's containers and its dependency volume, and the folder. */
export async function cleanupProject(projectRoot: string): Promise<void> {
  const rt = runtime();
  const identity = projectIdentity(projectRoot);
  for (const c of await rt.listContainers({ [LABELS.project]: identity.id })) await rt.removeContainer(c.id);
  for (const v of await rt.listVolumes({ [LABELS.project]: identity.id })) await rt.removeVolume(v.name);
  rmSync(projectRoot, { recursive: true, force: true });
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}

/** GET/POST JSON; undefined when the server does not answer (yet). */
export async function fetchJson(url: string, body?: unknown): Promise<{ status: number; json: unknown } | undefined> {
  try {
    const response = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, json };
  } catch {
    return undefined;
  }
}

export interface HostProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts `flash dev` on the host as a child process: the harness (argv = its JSON options) or the real CLI. */
export function startHost(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; useCli?: boolean }): HostProcess {
  const entry = options.useCli ? CLI : HARNESS;
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: options.cwd,
    env: { ...process.env, FLASH_CONTAINER: "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number>((r) => child.once("exit", (code, signal) => r(code ?? (signal ? 128 : 1))));
  return {
    child,
    output: () => output,
    exited,
    waitForOutput: (pattern, timeoutMs = 240_000) => waitFor(`output ${pattern}`, () => (pattern.test(output) ? true : undefined), timeoutMs, 100).then(() => {}),
  };
}

/** Containers of a project (any state). */
export async function projectContainers(projectRoot: string): Promise<string[]> {
  const identity = projectIdentity(projectRoot);
  return (await runtime().listContainers({ [LABELS.project]: identity.id })).map((c) => c.id);
}
