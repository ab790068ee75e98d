/**
 * The container tools a new user has: compose (`docker compose` or Debian's
 * `docker-compose`), a shell whose PATH has Docker but no Node, and the pinned
 * Node image of a team project.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);

/** `docker compose` (v2) or `docker-compose`, whichever is installed. */
export function composeTool(): string[] | undefined {
  for (const candidate of [["docker", "compose"], ["docker-compose"]]) {
    try {
      execFileSync(candidate[0]!, [...candidate.slice(1), "version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // not installed
    }
  }
  return undefined;
}

export function run(compose: string[], args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string }> {
  return exec(compose[0]!, [...compose.slice(1), ...args], { cwd: options.cwd, env: options.env ?? process.env, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
}

/** A folder holding only `docker` and the compose tool: a PATH with no Node on it. */
export function noNodePath(work: string, compose: string[]): string {
  const bin = join(work, "bin-without-node");
  mkdirSync(bin, { recursive: true });
  for (const tool of new Set(["docker", compose[0]!])) {
    const path = execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    symlinkSync(realpathSync(path), join(bin, tool));
  }
  return bin;
}

/**
 * Makes sure the pinned Node image of a team project is in the engine. With
 * no registry reachable (this machine), the local base image is tagged with
 * the pinned name when it is exactly that Node release. Returns how to undo
 * a tag it added.
 */
export async function ensurePinnedNodeImage(ref: string): Promise<(() => Promise<void>) | undefined> {
  const present = await exec("docker", ["image", "inspect", ref]).then(() => true, () => false);
  if (present) return undefined;
  const pulled = await exec("docker", ["pull", ref], { timeout: 300_000 }).then(() => true, () => false);
  if (pulled) return undefined;
  const version = /^node:(\d+\.\d+\.\d+)-(.+)$/.exec(ref);
  if (!version) throw new Error(`${ref} is not in the engine and cannot be pulled`);
  const local = `node:${version[1]!.split(".")[0]}-${version[2]}`;
  const { stdout } = await exec("docker", ["image", "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", local]).catch(() => ({ stdout: "" }));
  if (!stdout.split("\n").includes(`NODE_VERSION=${version[1]}`)) {
    throw new Error(`${ref} is not in the engine, cannot be pulled, and ${local} is not Node ${version[1]}: load the pinned image first`);
  }
  await exec("docker", ["tag", local, ref]);
  return async () => {
    await exec("docker", ["rmi", "--no-prune", ref]).catch(() => {});
  };
}
