/**
 * This repository as a user gets it: one `npm pack` per test run, shared by
 * every test file that installs flash-ts into a project (test files run in
 * parallel processes: a directory lock makes the first one pack and the others
 * wait for its tarball). `pretest` has built dist/, so `prepare` is skipped.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { isProcessAlive } from "../../src/common/process-alive.js";

const run = promisify(execFile);
export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");

/** Per run: vitest forks each test file from one main process, whose pid names the run. */
const RUN_DIR = join(tmpdir(), `flash-ts-pack-${process.ppid}`);

let packed: Promise<string> | undefined;

/** Absolute path of the packed flash-ts tarball of this run. */
export function packedFlashTs(): Promise<string> {
  packed ??= pack();
  return packed;
}

async function pack(): Promise<string> {
  removeStaleRuns();
  const lock = `${RUN_DIR}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const found = tarballIn(RUN_DIR);
      if (found) return found;
      if (i > 1500) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    const found = tarballIn(RUN_DIR);
    if (found) return found;
    const staging = `${RUN_DIR}.staging`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const { stdout } = await run("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", staging], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const name = stdout.trim().split("\n").pop()!;
    statSync(join(staging, name));
    // Published only once complete: a waiter never sees half a tarball.
    rmSync(RUN_DIR, { recursive: true, force: true });
    renameSync(staging, RUN_DIR);
    return join(RUN_DIR, name);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function tarballIn(dir: string): string | undefined {
  try {
    const name = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    return name ? join(dir, name) : undefined;
  } catch {
    return undefined;
  }
}

/** Tarballs of runs whose vitest process is gone. */
function removeStaleRuns(): void {
  for (const entry of readdirSync(tmpdir())) {
    const m = /^flash-ts-pack-(\d+)(\.staging|\.lock)?$/.exec(entry);
    if (!m || Number(m[1]) === process.ppid || isProcessAlive(Number(m[1]))) continue;
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}
