/**
 * The dev container of one project, as a plain spec (no I/O): its name,
 * labels, mounts, published port, environment and command. The rules that
 * matter are here, unit-tested:
 * - one container per project (the name and labels derive from its path);
 * - the project at /workspace, `.runpod/` mounted explicitly (state survives
 *   the container), `node_modules` in a named volume (host modules built for
 *   another OS are never used);
 * - host-side settings (FLASH_HOST/PORT, the image) stay on the host; Runpod
 *   settings and the key reach the container as run-time environment only.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import type { ContainerSpec, Labels, MountSpec } from "./container-runtime.js";
import { CONTAINER_ENV, CONTAINER_PORT, DEPS_DIR, DEV_COMMAND, isForwardedEnv, OUTER_ENV_DIR, STATE_DIR, WORKSPACE } from "./container-settings.js";
import { LABELS } from "./labels.js";

export { CONTAINER_PORT, OUTER_ENV_DIR, WORKSPACE } from "./container-settings.js";

/** Identity of a project's container and volume, derived from its absolute path. */
export interface ProjectIdentity {
  id: string;
  containerName: string;
  depsVolume: string;
  labels: Labels;
}

export function projectIdentity(projectRoot: string): ProjectIdentity {
  const id = createHash("sha256").update(projectRoot).digest("hex").slice(0, 12);
  const slug =
    basename(projectRoot)
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, "-")
      .replace(/^[^a-z0-9]+|-+$/g, "")
      .slice(0, 30) || "project";
  return {
    id,
    containerName: `flash-dev-${slug}-${id.slice(0, 8)}`,
    depsVolume: `flash-dev-deps-${slug}-${id.slice(0, 8)}`,
    labels: { [LABELS.managed]: "true", [LABELS.project]: id },
  };
}

/** The host variables the container receives, by the rules above. */
export function selectForwardedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && isForwardedEnv(key)) out[key] = value;
  }
  return out;
}

/** The URL a person opens for a server published on `host:port`. */
export function displayUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" || host === "127.0.0.1" || host === "" ? "localhost" : host;
  return `http://${h.includes(":") ? `[${h}]` : h}:${port}`;
}

export interface DevContainerSpecOptions {
  projectRoot: string;
  image: string;
  /** IP address the port is published on (already resolved: `127.0.0.1`, `0.0.0.0`, …). */
  hostIp: string;
  hostPort: number;
  /** URL shown to the user (and handed to the server inside so its banner says the same). */
  publicUrl: string;
  /** Flags for the inner `flash dev` (e.g. `--local`, `--auto-provision`, `--no-reload`). */
  devArgs: string[];
  env: NodeJS.ProcessEnv;
  /**
   * Keys of `env` whose values came from the project's .env: not forwarded, because the server inside
   * reads .env from the mount itself and restarts when it changes — a forwarded copy would pin the old
   * value (the shell's environment wins over .env).
   */
  envFromFile?: Iterable<string>;
  /**
   * A `.env` above the project on the host (the nearest one, found upward to the repository root): its
   * folder is mounted read-only so the server inside reads it and reloads when it changes (a folder, not
   * the file: an editor that saves by rename would leave a file mount on the old content).
   */
  outerEnvFile?: string;
  /** Host user and group; undefined (Windows) keeps the image's user. */
  uid?: number;
  gid?: number;
  interactive: boolean;
  version: string;
  owner: { host: string; pid: number };
  /** Replaces the whole command (tests, or a custom server). */
  command?: string[];
  /** More mounts: local-path dependencies outside the project (`local-dependencies.ts`). */
  extraMounts?: MountSpec[];
}

export function createDevContainerSpec(options: DevContainerSpecOptions): ContainerSpec {
  const identity = projectIdentity(options.projectRoot);
  const fromFile = new Set(options.envFromFile ?? []);
  const forwarded = selectForwardedEnv(options.env);
  for (const key of fromFile) delete forwarded[key];
  const env: Record<string, string> = {
    ...forwarded,
    ...CONTAINER_ENV,
    // The session lock takes over at once from a session of a container of this name that was replaced (docs/internals.md, "Locks").
    FLASH_CONTAINER_NAME: identity.containerName,
    FLASH_PUBLIC_URL: options.publicUrl,
  };
  if (options.interactive) env.TERM = options.env.TERM || "xterm-256color";
  if (options.outerEnvFile) {
    env.FLASH_ENV_FILE = `${OUTER_ENV_DIR}/${basename(options.outerEnvFile)}`;
    env.FLASH_ENV_FILE_HOST = options.outerEnvFile;
  }
  const command = options.command ?? [...DEV_COMMAND, ...options.devArgs];
  return {
    name: identity.containerName,
    image: options.image,
    command,
    env,
    labels: {
      ...identity.labels,
      [LABELS.role]: "dev-container",
      [LABELS.projectPath]: options.projectRoot,
      [LABELS.version]: options.version,
      [LABELS.ownerHost]: options.owner.host,
      [LABELS.ownerPid]: String(options.owner.pid),
    },
    mounts: [
      { type: "bind", source: options.projectRoot, target: WORKSPACE },
      // Explicit, so endpoint cache and emulator state live on the host even if the project mount changes kind.
      { type: "bind", source: join(options.projectRoot, STATE_DIR), target: `${WORKSPACE}/${STATE_DIR}` },
      { type: "volume", source: identity.depsVolume, target: `${WORKSPACE}/${DEPS_DIR}` },
      ...(options.outerEnvFile ? [{ type: "bind" as const, source: dirname(options.outerEnvFile), target: OUTER_ENV_DIR, readOnly: true }] : []),
      ...(options.extraMounts ?? []),
    ],
    ports: [{ containerPort: CONTAINER_PORT, hostIp: options.hostIp, hostPort: options.hostPort }],
    workingDir: WORKSPACE,
    ...(options.uid !== undefined && options.gid !== undefined ? { user: `${options.uid}:${options.gid}` } : {}),
    tty: options.interactive,
    openStdin: options.interactive,
    // The engine's tini as PID 1: Ctrl-C and SIGTERM reach flash dev, the emulator's workers are reaped.
    init: true,
  };
}
