/**
 * Shared pieces of the Docker tests: the dev image (built once per run, even
 * across test files running in parallel), temporary project copies, free
 * ports, polling helpers, the host-CLI harness as a child process, and cleanup
 * of everything labelled with a project.
 */
import { execFileSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { findFreePort } from "../../src/common/ports.js";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { createContainerRuntime } from "../../src/container/engine-runtime.js";
import { resolveDockerEndpoints } from "../../src/container/docker-endpoint.js";
import type { ContainerRuntime } from "../../src/container/container-runtime.js";
import { ensureDevImage } from "../../src/container/dev-image.js";
import { projectIdentity } from "../../src/container/dev-container-spec.js";
import { LABELS } from "../../src/container/labels.js";
import { createLogger } from "../../src/common/logger.js";
import { PACKAGE_ROOT, readPackageVersion } from "../../src/common/package-info.js";
import { CLI, startProcess } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import { FIXTURES, REPO_ROOT } from "../helpers/paths.js";

export { waitFor };

export { REPO_ROOT };
export const FIXTURE = join(FIXTURES, "container-project");
export const HARNESS = join(REPO_ROOT, "test", "container", "harness", "dev-host.mjs");
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
  await waitFor(
    "the dev image lock",
    () => {
      try {
        mkdirSync(lock);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        // A lock older than 10 minutes belongs to a run that died.
        const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
        if (since !== undefined && Date.now() - since > 600_000) rmSync(lock, { recursive: true, force: true });
        return false;
      }
    },
    600_000,
    200,
  );
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
  if (owner) giveTree(dir, owner);
  return dir;
}

/** The image the helpers below run as root (present wherever the dev image builds). */
const ROOT_HELPER_IMAGE = "node:24-bookworm-slim";

/** Runs `command` as root in a throwaway container with `dir` mounted at /target. */
function asRootOn(dir: string, command: string[]): void {
  execFileSync("docker", ["run", "--rm", "--user", "0:0", "--label", "dev.flash-ts.test=file-owner", "-v", `${dir}:/target`, ROOT_HELPER_IMAGE, ...command], { stdio: "pipe" });
}

/**
 * Makes `owner` the owner of everything under `dir`. The ownership checks
 * need a project owned by someone other than the test runner and the image's
 * default user, whoever runs the tests: as root directly, otherwise as root
 * in a container (bind mounts keep numeric ids), opening the files to
 * everyone so that the runner can still edit and read them.
 */
export function giveTree(dir: string, owner: { uid: number; gid: number }): void {
  if (process.getuid?.() === 0) chownTree(dir, owner.uid, owner.gid);
  else asRootOn(dir, ["sh", "-c", `chown -R ${owner.uid}:${owner.gid} /target && chmod -R a+rwX /target`]);
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** Removes `dir`, also when another user's files in it are beyond the test runner's reach. */
export function removeTree(dir: string): void {
  // The folder itself may be another user's too, in a sticky /tmp: remove it from its parent.
  if (process.getuid?.() !== 0 && existsSync(dir)) asRootOn(dirname(dir), ["rm", "-rf", `/target/${basename(dir)}`]);
  rmSync(dir, { recursive: true, force: true });
}

/** Removes the project's containers and its dependency volume, and the folder. */
export async function cleanupProject(projectRoot: string): Promise<void> {
  const rt = runtime();
  const identity = projectIdentity(projectRoot);
  for (const c of await rt.listContainers({ [LABELS.project]: identity.id })) await rt.removeContainer(c.id);
  for (const v of await rt.listVolumes({ [LABELS.project]: identity.id })) await rt.removeVolume(v.name);
  removeTree(projectRoot);
}

export async function freePort(): Promise<number> {
  return (await findFreePort("127.0.0.1")).port;
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
  const started = startProcess(process.execPath, [options.useCli ? CLI : HARNESS, ...args], { cwd: options.cwd, env: { FLASH_CONTAINER: "", ...options.env } });
  return {
    child: started.child,
    output: started.output,
    exited: started.closed.then((code) => (typeof code === "number" ? code : 128)),
    waitForOutput: (pattern, timeoutMs = 240_000) => started.waitForOutput(pattern, { timeoutMs }).then(() => undefined),
  };
}

/** Containers of a project (any state). */
export async function projectContainers(projectRoot: string): Promise<string[]> {
  const identity = projectIdentity(projectRoot);
  return (await runtime().listContainers({ [LABELS.project]: identity.id })).map((c) => c.id);
}
