/**
 * What both engine clients (engine-runtime.ts on node:http,
 * docker-container-runtime.ts on dockerode) share: the body that creates a
 * container, label filters, and the engine's failures as our coded errors.
 * Docker reports most failures as text only, so this file (and no other)
 * reads the engine's messages, to tell "port taken" from other failures.
 */
import { AppError } from "../common/errors.js";
import type { ContainerSpec, Labels } from "./container-runtime.js";

/** Network-level error codes that mean "no engine there". */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOENT", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN"]);

/** What both clients' errors carry: a network code, or the engine's status and message. */
interface EngineError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
}

export function engineMessage(error: unknown): string {
  const e = (error ?? {}) as EngineError;
  const fromJson = e.json && typeof e.json === "object" ? e.json.message : undefined;
  return (fromJson ?? e.message ?? String(error)).trim();
}

export function statusOf(error: unknown): number | undefined {
  return (error as EngineError | undefined)?.statusCode;
}

/** Maps a failure talking to the engine at `url`; `action` completes "Could not …". */
export function engineFailure(url: string, error: unknown, action: string): AppError {
  if (error instanceof AppError) return error;
  const code = (error as EngineError | undefined)?.code;
  if (code === "EACCES" || code === "EPERM") {
    return new AppError("DOCKER_UNAVAILABLE", `Permission denied on the Docker engine at ${url}.`, {
      hint: "Add your user to the docker group (then log in again), or set DOCKER_HOST to an engine you may use. --no-container serves without Docker.",
      cause: error,
    });
  }
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new AppError("DOCKER_UNAVAILABLE", `The Docker engine at ${url} does not answer (${code}).`, {
      hint: "Is Docker running? Start it, fix DOCKER_HOST, or pass --no-container to serve without Docker.",
      cause: error,
    });
  }
  const message = engineMessage(error);
  if (/port is already allocated|address already in use|bind: .*in use/i.test(message)) {
    return new AppError("PORT_IN_USE", `Could not ${action}: the port is already in use (${message}).`, {
      hint: "Stop what holds the port, or pick another with --port / FLASH_PORT.",
      cause: error,
    });
  }
  return new AppError("CONTAINER_FAILED", `Could not ${action}: ${message}`, { cause: error });
}

/** A failed ping: always DOCKER_UNAVAILABLE, whatever the engine said. */
export function pingFailure(url: string, error: unknown): AppError {
  const mapped = engineFailure(url, error, "reach the Docker engine");
  if (mapped.code === "DOCKER_UNAVAILABLE") return mapped;
  return new AppError("DOCKER_UNAVAILABLE", `The Docker engine at ${url} answered with an error: ${engineMessage(error)}`, {
    hint: "Is Docker running? Start it, fix DOCKER_HOST, or pass --no-container to serve without Docker.",
    cause: error,
  });
}

/** Label filters as the Engine API takes them (`key=value`). */
export function labelFilters(labels: Labels): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

/** The Engine API body of `POST /containers/create` for a spec (the name goes in the query). */
export function containerCreateBody(spec: ContainerSpec): Record<string, unknown> {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.ports) {
    const key = `${p.containerPort}/tcp`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return {
    Image: spec.image,
    Cmd: spec.command,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: spec.labels,
    WorkingDir: spec.workingDir,
    ...(spec.user ? { User: spec.user } : {}),
    Tty: spec.tty,
    OpenStdin: spec.openStdin,
    StdinOnce: false,
    AttachStdin: spec.openStdin,
    AttachStdout: true,
    AttachStderr: true,
    ExposedPorts: exposed,
    HostConfig: {
      PortBindings: bindings,
      Mounts: spec.mounts.map((m) =>
        m.type === "bind" ? { Type: "bind", Source: m.source, Target: m.target, ReadOnly: m.readOnly ?? false } : { Type: "volume", Source: m.source, Target: m.target },
      ),
      Init: spec.init ?? false,
      AutoRemove: false,
    },
  };
}

/** A failed create: the two cases people meet get their own words. */
export function createFailure(url: string, spec: ContainerSpec, error: unknown): AppError {
  if (statusOf(error) === 409) {
    return new AppError("CONTAINER_FAILED", `A container named ${spec.name} already exists.`, {
      hint: "Another `flash dev` may be starting for this project; try again in a moment.",
      cause: error,
    });
  }
  if (statusOf(error) === 404) return new AppError("CONTAINER_FAILED", `The image ${spec.image} is not in the Docker engine.`, { cause: error });
  return engineFailure(url, error, `create container ${spec.name}`);
}
