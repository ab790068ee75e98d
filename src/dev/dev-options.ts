/**
 * `flash dev` options: flags and environment resolved once, at the edge, into
 * typed values (the flag beats the env var; `.env` has been applied to the
 * environment before this runs, with the shell winning).
 */
import { AppError } from "../common/errors.js";
import { displayPath } from "../runpod/credentials.js";
import type { ApiKeyResolution } from "../runpod/credentials.js";

export type BackendChoice = "local" | "runpod";

/** Raw flags as the CLI parsed them (undefined = not given). */
export interface DevFlags {
  host?: string;
  port?: string;
  reload?: boolean;
  autoProvision?: boolean;
  local?: boolean;
  runpod?: boolean;
  cleanup?: boolean;
  yes?: boolean;
  /** `--inspect[=[127.0.0.1:]port]`: "" for the flag alone. */
  inspect?: string;
}

/** Where workers' inspectors listen under `--inspect`: `port`, the next worker `port + 1`, … (docs/internals.md, "Debugging"). */
export interface InspectTarget {
  /** Always 127.0.0.1: whoever reaches an inspector runs code as this user. */
  host: "127.0.0.1";
  port: number;
  /** How many ports from `port` on (one per worker process running at once). */
  count: number;
}

/** Node's own inspector port, where editors look first. */
export const DEFAULT_INSPECT_PORT = 9229;
/** Ports under --inspect: as many as the emulator runs worker processes at once by default (docs/limits.md). */
export const INSPECT_PORT_COUNT = 16;

export interface ResolvedDevOptions {
  projectRoot: string;
  /** Host to bind (`localhost` binds 127.0.0.1). */
  host: string;
  port: number;
  /** The port was chosen explicitly (flag or env) rather than defaulted. */
  portExplicit: boolean;
  reload: boolean;
  autoProvision: boolean;
  backend: BackendChoice;
  /** Why this backend, for the banner: e.g. "no RUNPOD_API_KEY and no credentials in ~/.runpod/config.toml". */
  backendReason: string;
  cleanup: boolean;
  yes: boolean;
  /** Running inside the flash dev container. */
  inContainer: boolean;
  /** `--inspect`: workers run with an inspector each; execution timeouts are off. */
  inspect?: InspectTarget;
}

export const DEFAULT_PORT = 8888;

/**
 * Where the key came from, as the CLI found it. `key` is RUNPOD_API_KEY or
 * the credentials file (runpod/credentials.ts); `envFile` is the .env that set
 * RUNPOD_API_KEY, when it did. Absent: only RUNPOD_API_KEY counts.
 */
export interface KeyOrigin {
  key: ApiKeyResolution;
  envFile?: string;
}

/** Set by the host CLI for the dev container: where the key it hands over came from (e.g. "~/.runpod/config.toml on the host"). */
export const KEY_SOURCE_ENV = "FLASH_API_KEY_SOURCE";

function describeKey(env: NodeJS.ProcessEnv, origin: KeyOrigin | undefined): string {
  const source = env[KEY_SOURCE_ENV]?.trim();
  if (origin?.key.source === "credentials") return `key from ${displayPath(origin.key.path, env)} (RUNPOD_API_KEY is not set)`;
  if (source) return `key from ${source}`;
  if (origin?.envFile) return `RUNPOD_API_KEY from ${displayPath(origin.envFile, env)}`;
  return "RUNPOD_API_KEY is set";
}

function describeNoKey(env: NodeJS.ProcessEnv, origin: KeyOrigin | undefined): string {
  const path = displayPath(origin?.key.path ?? "~/.runpod/config.toml", env);
  const problem = origin?.key.problem ? ` (${path}: ${origin.key.problem})` : "";
  return `no RUNPOD_API_KEY and no credentials in ${path}${problem}`;
}

function parsePort(value: string, source: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new AppError("INVALID_INPUT", `${source} must be a port number (got ${JSON.stringify(value)})`, { hint: "Use a number from 1 to 65535." });
  }
  const port = Number(value);
  if (port < 0 || port > 65535) throw new AppError("INVALID_INPUT", `${source} must be from 1 to 65535 (got ${port})`);
  return port;
}

function checkHost(value: string, source: string): string {
  const host = value.trim();
  if (!/^[A-Za-z0-9.:_-]+$/.test(host) || host.length > 253) {
    throw new AppError("INVALID_INPUT", `${source} is not a host name or address (got ${JSON.stringify(value)})`);
  }
  return host;
}

/** `--inspect` / `--inspect=9230` / `--inspect=127.0.0.1:9230`; the inspector never listens beyond this machine. */
export function parseInspect(value: string): InspectTarget {
  const text = value.trim();
  const match = /^(?:([^:]*):)?(\d*)$/.exec(text);
  const host = match?.[1];
  if (!match || (host !== undefined && host !== "127.0.0.1" && host !== "localhost")) {
    throw new AppError("INVALID_INPUT", `--inspect takes a port, e.g. --inspect=9230 (got ${JSON.stringify(value)})`, {
      hint: "The inspector listens on 127.0.0.1 only: whoever reaches it can run code as you. To debug from another machine, forward the port over SSH.",
    });
  }
  const port = match[2] ? Number(match[2]) : DEFAULT_INSPECT_PORT;
  const last = port + INSPECT_PORT_COUNT - 1;
  if (port < 1024 || last > 65535) {
    throw new AppError("INVALID_INPUT", `--inspect port must be from 1024 to ${65535 - INSPECT_PORT_COUNT + 1} (got ${port})`, {
      hint: `Workers take that port and the next ${INSPECT_PORT_COUNT - 1}, one each.`,
    });
  }
  return { host: "127.0.0.1", port, count: INSPECT_PORT_COUNT };
}

export function resolveDevOptions(flags: DevFlags, env: NodeJS.ProcessEnv, projectRoot: string, keyOrigin?: KeyOrigin): ResolvedDevOptions {
  const inContainer = env.FLASH_IN_CONTAINER === "1";
  const host =
    flags.host !== undefined
      ? checkHost(flags.host, "--host")
      : env.FLASH_HOST
        ? checkHost(env.FLASH_HOST, "FLASH_HOST")
        : inContainer
          ? "0.0.0.0"
          : "localhost";
  let port = DEFAULT_PORT;
  let portExplicit = false;
  if (flags.port !== undefined) {
    port = parsePort(flags.port, "--port");
    portExplicit = true;
  } else if (env.FLASH_PORT) {
    port = parsePort(env.FLASH_PORT, "FLASH_PORT");
    portExplicit = true;
  }
  if (flags.local && flags.runpod) throw new AppError("INVALID_INPUT", "--local and --runpod cannot be used together");
  const inspect = flags.inspect !== undefined ? parseInspect(flags.inspect) : undefined;
  if (inspect && flags.runpod) {
    throw new AppError("INVALID_INPUT", "--inspect and --runpod cannot be used together: a debugger attaches to workers on this machine", {
      hint: "Debug on the local emulator (--inspect alone), then run on Runpod without it.",
    });
  }
  const hasKey = Boolean(env.RUNPOD_API_KEY?.trim()) || keyOrigin?.key.apiKey !== undefined;
  if (flags.runpod && !hasKey) {
    throw new AppError("INVALID_CONFIG", `--runpod needs RUNPOD_API_KEY: ${describeNoKey(env, keyOrigin)}`, {
      hint: "Run flash login, or set RUNPOD_API_KEY in your shell or in .env; or use --local to run on the local emulator.",
    });
  }
  // --inspect runs the workers here, where a debugger can reach them, whatever key there is.
  const local = flags.local === true || inspect !== undefined;
  const backend: BackendChoice = local ? "local" : flags.runpod ? "runpod" : hasKey ? "runpod" : "local";
  const backendReason = flags.local ? "--local" : inspect ? "--inspect" : hasKey ? `${flags.runpod ? "--runpod, " : ""}${describeKey(env, keyOrigin)}` : describeNoKey(env, keyOrigin);
  return {
    projectRoot,
    host,
    port,
    portExplicit,
    reload: flags.reload ?? true,
    autoProvision: flags.autoProvision ?? false,
    backend,
    backendReason,
    cleanup: flags.cleanup ?? false,
    yes: flags.yes ?? false,
    inContainer,
    ...(inspect ? { inspect } : {}),
  };
}
