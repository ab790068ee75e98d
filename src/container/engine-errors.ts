/**
 * The engine's failures as our coded errors, for both engine clients
 * (engine-runtime.ts on node:http, docker-container-runtime.ts on dockerode).
 * Docker reports most failures as text only, so this file (and no other)
 * reads the engine's messages, to tell "port taken" from other failures.
 */
import { AppError } from "../shared/errors.js";
import type { Labels } from "./container-runtime.js";

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
