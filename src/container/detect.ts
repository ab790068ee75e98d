/**
 * Should `flash dev` use a container? Two questions: are we already inside
 * one (then serve directly: a container in a container would bind-mount paths
 * of the wrong file system), and does a Docker engine answer?
 */
import { existsSync } from "node:fs";
import { AppError } from "../common/errors.js";
import type { ContainerRuntime, EngineInfo } from "./container-runtime.js";
import { createContainerRuntime } from "./engine-runtime.js";
import { resolveDockerEndpoints, type DockerEndpoint, type EndpointProbe } from "./docker-endpoint.js";

/** The marker the dev image sets, so `flash dev` inside knows where it is. */
export const IN_CONTAINER_ENV = "FLASH_IN_CONTAINER";

/**
 * True when this process runs inside a container: the dev image's marker
 * (`FLASH_IN_CONTAINER=1`; `0` forces "no"), Docker's `/.dockerenv`, Podman's
 * `/run/.containerenv`, Codespaces, Dev Containers or a Kubernetes pod.
 */
export function isInsideContainer(env: NodeJS.ProcessEnv = process.env, exists: (path: string) => boolean = existsSync): boolean {
  const marker = env[IN_CONTAINER_ENV];
  if (marker === "1" || marker === "true") return true;
  if (marker === "0" || marker === "false") return false;
  if (env.CODESPACES === "true" || env.REMOTE_CONTAINERS === "true" || env.KUBERNETES_SERVICE_HOST) return true;
  return exists("/.dockerenv") || exists("/run/.containerenv");
}

/** The outcome of looking for a Docker engine. */
export type DockerDetection =
  /** An engine answered: use it. */
  | { status: "available"; runtime: ContainerRuntime; endpoint: DockerEndpoint; engine: EngineInfo }
  /** No engine is configured or installed here: serve without a container. */
  | { status: "absent"; reason: string }
  /**
   * An engine is configured (DOCKER_HOST, a Docker context, or a socket that
   * exists) but does not answer: a user error to report (exit 1), since the
   * user evidently meant to use Docker.
   */
  | { status: "unreachable"; reason: string; error: AppError };

export interface DetectDockerOptions {
  /** How long one engine may take to answer. Default 5 s. */
  timeoutMs?: number;
  /** File-system probes, for tests. */
  probe?: Omit<EndpointProbe, "env">;
  /** Runtime factory, for tests. */
  createRuntime?: (endpoint: DockerEndpoint) => ContainerRuntime;
}

/**
 * Looks for a Docker engine the way the docker CLI does (DOCKER_HOST, the
 * current context, the usual sockets) and pings the candidates in order.
 */
export async function detectDocker(env: NodeJS.ProcessEnv = process.env, options: DetectDockerOptions = {}): Promise<DockerDetection> {
  let resolved;
  try {
    resolved = resolveDockerEndpoints({ ...options.probe, env });
  } catch (error) {
    const appError = error instanceof AppError ? error : new AppError("DOCKER_UNAVAILABLE", String(error), { cause: error });
    return { status: "unreachable", reason: appError.message, error: appError };
  }
  if (resolved.endpoints.length === 0) {
    return { status: "absent", reason: "no Docker engine is installed or configured (no DOCKER_HOST, no Docker socket found)" };
  }
  const create = options.createRuntime ?? createContainerRuntime;
  const timeoutMs = options.timeoutMs ?? 5000;
  let firstError: AppError | undefined;
  for (const endpoint of resolved.endpoints) {
    const runtime = create(endpoint);
    try {
      const engine = await withTimeout(runtime.ping(), timeoutMs, endpoint);
      return { status: "available", runtime, endpoint, engine };
    } catch (error) {
      firstError ??=
        error instanceof AppError ? error : new AppError("DOCKER_UNAVAILABLE", `The Docker engine at ${endpoint.url} does not answer.`, { cause: error });
    }
  }
  const error = firstError ?? new AppError("DOCKER_UNAVAILABLE", "No Docker engine answers.");
  const hint = resolved.explicit
    ? `It was chosen by ${resolved.source}. Start that engine, point ${resolved.source === "DOCKER_HOST" ? "DOCKER_HOST" : "the context"} elsewhere, or pass --no-container (FLASH_CONTAINER=0) to serve without Docker.`
    : "Is Docker running? Start it, or pass --no-container (FLASH_CONTAINER=0) to serve without Docker.";
  const reported = new AppError("DOCKER_UNAVAILABLE", error.message, { hint, cause: error.cause ?? error });
  return { status: "unreachable", reason: error.message, error: reported };
}

function withTimeout<T>(promise: Promise<T>, ms: number, endpoint: DockerEndpoint): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AppError("DOCKER_UNAVAILABLE", `The Docker engine at ${endpoint.url} did not answer within ${ms} ms.`)),
      ms,
    );
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
