/**
 * The dev image: built from this package's own Dockerfile, tagged
 * `flash-dev:<version>` and labelled with a hash of everything that went
 * into it, so it is rebuilt exactly when flash-ts (its dist/, package.json,
 * Dockerfile) or the base image argument changed — and reused otherwise.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createHash, randomUUID } from "node:crypto";
import { writeFileAtomic } from "../common/atomic-write.js";
import { AppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";
import type { Logger } from "../common/logger.js";
import type { ContainerRuntime } from "./container-runtime.js";
import { LABELS } from "./labels.js";

/** Repository part of the dev image's tag. */
export const DEV_IMAGE_REPOSITORY = "flash-dev";
/** The Dockerfile's default base (a build argument, overridden by FLASH_BASE_IMAGE). */
export const DEFAULT_BASE_IMAGE = "node:24-bookworm-slim";

/**
 * What the host CLI sends as build context: the package as installed (prebuilt
 * `dist/`), never `src/` — so the image runs exactly the flash-ts the host runs,
 * and the Dockerfile's compile-from-source path (for checkouts built by compose
 * or a devcontainer) is skipped.
 */
const CONTEXT_ENTRIES = ["Dockerfile", ".dockerignore", "package.json", "package-lock.json", "dist", "assets"];

export interface DevImageContext {
  contextDir: string;
  /** Every file sent, relative, `/` separators, sorted. */
  files: string[];
  /** sha256 over paths, contents and build arguments (first 16 hex chars). */
  hash: string;
  buildArgs: Record<string, string>;
}

/**
 * Lists and hashes the build context of the dev image in `packageRoot`.
 * Hashing reads every file; on the next start of the same package, a cheap
 * fingerprint of the files' metadata (size, inode, change time: any write
 * changes the change time, and no tool can set it back) finds the hash in
 * `cacheDir` instead, when one is given.
 */
export function collectDevImageContext(packageRoot: string, buildArgs: Record<string, string>, cacheDir?: string): DevImageContext {
  if (!existsSync(join(packageRoot, "Dockerfile")) || !existsSync(join(packageRoot, "dist", "cli", "index.js"))) {
    throw new AppError("IMAGE_BUILD_FAILED", `flash-ts at ${packageRoot} has no Dockerfile or no dist/: the dev image cannot be built from it.`, {
      hint: "Reinstall flash-ts, or run `npm run build` in a checkout of it.",
    });
  }
  const files: { path: string; meta: string }[] = [];
  const walk = (relative: string): void => {
    const absolute = join(packageRoot, relative);
    const stat = statSync(absolute);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(absolute)) walk(`${relative}/${entry}`);
    } else if (stat.isFile()) {
      files.push({ path: relative, meta: `${stat.size}:${stat.ino}:${stat.ctimeMs}` });
    }
  };
  for (const entry of CONTEXT_ENTRIES) if (existsSync(join(packageRoot, entry))) walk(entry);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const args = JSON.stringify(Object.entries(buildArgs).sort());
  const paths = files.map((f) => f.path);

  const cacheFile = cacheDir ? join(cacheDir, `image-context-${createHash("sha256").update(packageRoot).digest("hex").slice(0, 16)}.json`) : undefined;
  const fingerprint = createHash("sha256").update(args).update(JSON.stringify(files)).digest("hex");
  const cached = cacheFile ? readCachedHash(cacheFile, fingerprint) : undefined;
  if (cached) return { contextDir: packageRoot, files: paths, hash: cached, buildArgs };

  const hash = createHash("sha256");
  hash.update(args);
  for (const file of paths) {
    hash.update(`\0${file}\0`);
    hash.update(readFileSync(join(packageRoot, file)));
  }
  const digest = hash.digest("hex").slice(0, 16);
  if (cacheFile) {
    // A cache: failing to write it only costs the next start a re-read.
    void writeFileAtomic(cacheFile, JSON.stringify({ fingerprint, hash: digest }) + "\n").catch(() => {});
  }
  return { contextDir: packageRoot, files: paths, hash: digest, buildArgs };
}

function readCachedHash(file: string, fingerprint: string): string | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (isRecord(value) && value.fingerprint === fingerprint && typeof value.hash === "string" && /^[0-9a-f]{16}$/.test(value.hash)) return value.hash;
  } catch {
    // no cache yet, or unreadable: hash the files
  }
  return undefined;
}

/** Where the host CLI keeps small caches: `$XDG_CACHE_HOME/flash-ts` or `~/.cache/flash-ts`. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "flash-ts");
}

export interface EnsureDevImageOptions {
  runtime: ContainerRuntime;
  logger: Logger;
  /** The flash-ts package to build from (PACKAGE_ROOT). */
  packageRoot: string;
  version: string;
  /** Base image build argument; default `node:24-bookworm-slim`. */
  baseImage?: string;
  /** A user-chosen image (--image / FLASH_DEV_IMAGE): used as is, pulled when missing, never built. */
  image?: string;
  /** Clock for durations. */
  now?: () => number;
  /** Where to remember the context's hash between starts (`userCacheDir()`); none: hash every time. */
  cacheDir?: string;
}

export interface DevImage {
  ref: string;
  id: string;
  /** True when this call built it. */
  built: boolean;
}

/** Returns a dev image that is present and up to date, building it when needed. */
export async function ensureDevImage(options: EnsureDevImageOptions): Promise<DevImage> {
  const { runtime, logger } = options;
  const now = options.now ?? Date.now;
  if (options.image) {
    const existing = await runtime.inspectImage(options.image);
    if (existing) return { ref: options.image, id: existing.id, built: false };
    logger.info(`Pulling ${options.image}…`);
    try {
      await runtime.pullImage(options.image, (line) => logger.debug(line));
    } catch (error) {
      throw new AppError("INVALID_INPUT", `The image ${options.image} is not in the Docker engine and could not be pulled.`, {
        hint: "Check --image / FLASH_DEV_IMAGE, or leave them unset to build the dev image from flash-ts.",
        cause: error,
      });
    }
    const pulled = await runtime.inspectImage(options.image);
    if (!pulled) throw new AppError("INVALID_INPUT", `The image ${options.image} could not be found after pulling it.`);
    return { ref: options.image, id: pulled.id, built: false };
  }

  const ref = `${DEV_IMAGE_REPOSITORY}:${options.version}`;
  const baseImage = options.baseImage || DEFAULT_BASE_IMAGE;
  const context = collectDevImageContext(options.packageRoot, { BASE_IMAGE: baseImage }, options.cacheDir);
  const existing = await runtime.inspectImage(ref);
  if (existing && existing.labels[LABELS.contextHash] === context.hash) {
    logger.debug(`Dev image ${ref} is up to date (${context.hash}).`);
    return { ref, id: existing.id, built: false };
  }

  const why = existing ? "flash-ts changed since it was built" : "first run";
  logger.info(`Building the dev image ${ref} (${why}; base ${baseImage})…`);
  const started = now();
  const buildId = randomUUID();
  const image = await runtime.buildImage(
    {
      contextDir: context.contextDir,
      files: context.files,
      dockerfile: "Dockerfile",
      tag: ref,
      labels: { [LABELS.managed]: "true", [LABELS.contextHash]: context.hash, [LABELS.version]: options.version },
      // Not part of the context hash: it only names this build's leftovers.
      buildArgs: { ...context.buildArgs, FLASH_BUILD_ID: buildId },
    },
    // Steps are progress a person can follow; the rest (apt, npm) only when asked for.
    (line) => (/^Step \d+\/\d+ :/.test(line) ? logger.info(`  ${line}`) : logger.debug(`  ${line}`)),
  );
  logger.info(`Built ${ref} in ${((now() - started) / 1000).toFixed(1)} s.`);
  // The previous build is now untagged: remove it so rebuilds do not pile up (left alone if a container uses it).
  if (existing && existing.id !== image.id) await runtime.removeImage(existing.id);
  // The Dockerfile's build stage leaves an untagged image per build (the classic builder keeps it): prune ours.
  await runtime.pruneDanglingImages({ [LABELS.stage]: "build", [LABELS.build]: buildId }).catch(() => 0);
  return { ref, id: image.id, built: true };
}
