/**
 * npm dependencies a project names by a path outside itself (`file:../x.tgz`,
 * `file:../some-folder`): until flash-ts is published, that is how the README
 * tells people to install it. Inside the dev container only the project is
 * mounted, so `npm ci` could not see them. The host CLI mounts each one,
 * read-only, where npm inside will look: the path as written, resolved from
 * /workspace instead of from the project folder (`../x.tgz` → `/x.tgz`).
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, posix, relative, resolve, sep } from "node:path";
import { AppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";
import type { MountSpec } from "./container-runtime.js";
import { WORKSPACE } from "./container-settings.js";

export interface OutsideDependency {
  /** Where npm found it named: `package.json` or `package-lock.json`. */
  source: string;
  /** The path as written there (`../flash-ts-0.1.0.tgz`). */
  spec: string;
  hostPath: string;
  containerPath: string;
}

const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "optionalDependencies"] as const;

/** Top-level folders of the image that a mount must not replace (a file or folder inside most of them is fine). */
const TOP_LEVEL = new Set(["bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt", "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var"]);
/** Trees nothing may be mounted into: kernel file systems, the project, the image's flash-ts. */
const UNTOUCHABLE = ["/proc", "/sys", "/dev", WORKSPACE, "/opt/flash-ts"];

function coversSomethingNeeded(containerPath: string): boolean {
  if (containerPath === "/" || TOP_LEVEL.has(containerPath.slice(1))) return true;
  return UNTOUCHABLE.some((tree) => containerPath === tree || containerPath.startsWith(`${tree}/`) || tree.startsWith(`${containerPath}/`));
}

/** A local-path spec as npm reads it (`file:`, `link:`, or a bare path), without the prefix; undefined otherwise. */
function localPath(spec: string): string | undefined {
  const m = /^(?:file|link):(.*)$/.exec(spec);
  if (m) return m[1]!.replace(/^\/\/(?=\/)/, "");
  if (/^(\.\.?|~)([\\/]|$)/.test(spec) || spec.startsWith("/")) return spec;
  return undefined;
}

/**
 * The local-path dependencies of the project at `projectRoot` that lie
 * outside it, with where each must appear inside the container. Paths that do
 * not exist are left to npm (it names them when the install fails).
 */
export function findOutsideDependencies(projectRoot: string, read: (path: string) => string = (p) => readFileSync(p, "utf8")): OutsideDependency[] {
  const found = new Map<string, OutsideDependency>();
  const consider = (source: string, spec: string): void => {
    const path = localPath(spec);
    if (path === undefined || path === "") return;
    const hostPath = path.startsWith("~") ? resolve(homedir(), path.replace(/^~[\\/]?/, "")) : resolve(projectRoot, path);
    const rel = relative(projectRoot, hostPath);
    if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) return; // inside the project: already mounted
    if (found.has(hostPath) || !existsSync(hostPath)) return;
    // The same relative path, seen from /workspace (an absolute host path has no relative form on another drive).
    const containerPath = isAbsolute(rel) ? posix.resolve("/", rel.replaceAll(sep, "/")) : posix.resolve(WORKSPACE, rel.split(sep).join("/"));
    found.set(hostPath, { source, spec, hostPath, containerPath });
  };

  const manifest = parseJson(projectRoot, "package.json", read);
  if (manifest) {
    for (const field of DEPENDENCY_FIELDS) {
      const deps = manifest[field];
      if (!isRecord(deps)) continue;
      for (const spec of Object.values(deps)) if (typeof spec === "string") consider("package.json", spec);
    }
  }
  for (const lockName of ["npm-shrinkwrap.json", "package-lock.json"]) {
    const lock = parseJson(projectRoot, lockName, read);
    const packages = lock?.packages;
    if (!isRecord(packages)) continue;
    for (const entry of Object.values(packages)) {
      if (!isRecord(entry) || typeof entry.resolved !== "string") continue;
      // A tarball is `file:<path>`; a linked folder is its bare relative path with `link: true`.
      if (entry.resolved.startsWith("file:") || entry.link === true) consider(lockName, entry.link === true ? `file:${entry.resolved}` : entry.resolved);
    }
    break;
  }
  return [...found.values()];
}

function parseJson(dir: string, name: string, read: (path: string) => string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = read(resolve(dir, name));
  } catch {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined; // npm reports a broken manifest itself, inside
  }
}

/**
 * Read-only bind mounts for `dependencies`. A path that would land on a
 * folder the container needs (`/usr`, `/workspace`, …) cannot be mounted:
 * that is an error naming the dependency and what to do.
 */
export function outsideDependencyMounts(dependencies: OutsideDependency[]): MountSpec[] {
  const targets = new Map<string, OutsideDependency>();
  for (const dep of dependencies) {
    const clash = targets.get(dep.containerPath);
    if (coversSomethingNeeded(dep.containerPath) || clash) {
      throw new AppError("INVALID_INPUT", `${dep.source} names "${dep.spec}" (${dep.hostPath}), outside the project; the dev container cannot mount it at ${dep.containerPath}.`, {
        hint: clash
          ? `It would land where "${clash.spec}" does. Put the two in different folders, or inside the project.`
          : "Put it inside the project (for example vendor/) or in the folder next to it, and install it from there.",
      });
    }
    targets.set(dep.containerPath, dep);
  }
  return dependencies.map((dep) => ({ type: "bind", source: dep.hostPath, target: dep.containerPath, readOnly: true }));
}
