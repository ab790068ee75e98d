/**
 * Where the Docker engine is: `DOCKER_HOST` when set (honoured exactly, no
 * fallback — the user said where), else the current Docker context, else the
 * usual sockets of Docker Engine, rootless Docker, Docker Desktop, Colima,
 * Rancher Desktop and Podman, else the Windows named pipe. Pure apart from the
 * injected file-system probes, so it is unit-tested without an engine.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { AppError } from "../common/errors.js";

/** How to reach one engine. */
export type DockerEndpoint =
  | { kind: "socket"; path: string; url: string }
  | { kind: "tcp"; host: string; port: number; tls?: { ca?: string; cert?: string; key?: string }; url: string }
  | { kind: "ssh"; host: string; port: number; username?: string; url: string };

export interface DockerEndpoints {
  /** True when the user named the engine (DOCKER_HOST or a Docker context): it must answer. */
  explicit: boolean;
  /** Where the choice came from, for messages: `DOCKER_HOST`, `docker context "colima"`, `default sockets`. */
  source: string;
  /** Candidates in order; for default sockets only those that exist. */
  endpoints: DockerEndpoint[];
}

export interface EndpointProbe {
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
  exists?: (path: string) => boolean;
  readFile?: (path: string) => string;
}

/** Parses a `DOCKER_HOST`-style URL (`unix://`, `npipe://`, `tcp://`, `http(s)://`, `ssh://`). */
export function parseDockerHost(value: string, env: NodeJS.ProcessEnv = {}, readFile: (p: string) => string = readText): DockerEndpoint {
  const bad = (): AppError =>
    new AppError("DOCKER_UNAVAILABLE", `DOCKER_HOST="${value}" is not a Docker address.`, {
      hint: "Use unix:///path/to/docker.sock, tcp://host:2375, ssh://user@host or npipe:////./pipe/docker_engine, or unset DOCKER_HOST.",
    });
  if (value.startsWith("unix://")) {
    const path = value.slice("unix://".length);
    if (!path) throw bad();
    return { kind: "socket", path, url: value };
  }
  if (value.startsWith("npipe://")) {
    const path = value.slice("npipe://".length).replace(/\//g, "\\") || "\\\\.\\pipe\\docker_engine";
    return { kind: "socket", path, url: value };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad();
  }
  if (url.protocol === "ssh:") {
    return {
      kind: "ssh",
      host: url.hostname,
      port: url.port ? Number(url.port) : 22,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      url: value,
    };
  }
  if (url.protocol === "tcp:" || url.protocol === "http:" || url.protocol === "https:") {
    const verify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== "" && env.DOCKER_TLS_VERIFY !== "0";
    const useTls = verify || url.protocol === "https:";
    const port = url.port ? Number(url.port) : useTls ? 2376 : 2375;
    const endpoint: DockerEndpoint = { kind: "tcp", host: url.hostname.replace(/^\[|\]$/g, ""), port, url: value };
    if (useTls) {
      const dir = env.DOCKER_CERT_PATH || join(homedir(), ".docker");
      const read = (name: string): string | undefined => {
        try {
          return readFile(join(dir, name));
        } catch {
          return undefined;
        }
      };
      endpoint.tls = {};
      const ca = read("ca.pem");
      const cert = read("cert.pem");
      const key = read("key.pem");
      if (ca) endpoint.tls.ca = ca;
      if (cert) endpoint.tls.cert = cert;
      if (key) endpoint.tls.key = key;
    }
    return endpoint;
  }
  throw bad();
}

/** The engine candidates for this environment, in the order they should be tried. */
export function resolveDockerEndpoints(probe: EndpointProbe): DockerEndpoints {
  const env = probe.env;
  const platform = probe.platform ?? process.platform;
  const home = probe.home ?? env.HOME ?? env.USERPROFILE ?? homedir();
  const exists = probe.exists ?? existsSync;
  const readFile = probe.readFile ?? readText;

  if (env.DOCKER_HOST) {
    return { explicit: true, source: "DOCKER_HOST", endpoints: [parseDockerHost(env.DOCKER_HOST, env, readFile)] };
  }

  const context = currentContext(env, home, readFile);
  if (context && context !== "default") {
    const host = contextHost(context, env, home, readFile);
    if (host) return { explicit: true, source: `docker context "${context}"`, endpoints: [parseDockerHost(host, env, readFile)] };
  }

  if (platform === "win32") {
    return {
      explicit: false,
      source: "the Docker Desktop named pipe",
      endpoints: [{ kind: "socket", path: "\\\\.\\pipe\\docker_engine", url: "npipe:////./pipe/docker_engine" }],
    };
  }
  const runtimeDir = env.XDG_RUNTIME_DIR;
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  const paths = [
    "/var/run/docker.sock",
    runtimeDir ? join(runtimeDir, "docker.sock") : undefined,
    uid !== undefined ? `/run/user/${uid}/docker.sock` : undefined,
    join(home, ".docker", "run", "docker.sock"),
    join(home, ".docker", "desktop", "docker.sock"),
    join(home, ".colima", "default", "docker.sock"),
    join(home, ".colima", "docker.sock"),
    join(home, ".rd", "docker.sock"),
    join(home, ".orbstack", "run", "docker.sock"),
    runtimeDir ? join(runtimeDir, "podman", "podman.sock") : undefined,
  ].filter((p): p is string => p !== undefined);
  const seen = new Set<string>();
  const endpoints: DockerEndpoint[] = [];
  for (const path of paths) {
    if (seen.has(path) || !exists(path)) continue;
    seen.add(path);
    endpoints.push({ kind: "socket", path, url: `unix://${path}` });
  }
  return { explicit: false, source: "the default Docker sockets", endpoints };
}

/** True when the engine runs on this machine (so published ports and bind mounts are ours). */
export function isLocalEndpoint(endpoint: DockerEndpoint): boolean {
  if (endpoint.kind === "socket") return true;
  if (endpoint.kind === "ssh") return false;
  return endpoint.host === "localhost" || endpoint.host === "::1" || endpoint.host.startsWith("127.");
}

function currentContext(env: NodeJS.ProcessEnv, home: string, readFile: (p: string) => string): string | undefined {
  if (env.DOCKER_CONTEXT) return env.DOCKER_CONTEXT;
  const configDir = env.DOCKER_CONFIG || join(home, ".docker");
  try {
    const config = JSON.parse(readFile(join(configDir, "config.json"))) as { currentContext?: unknown };
    return typeof config.currentContext === "string" ? config.currentContext : undefined;
  } catch {
    return undefined;
  }
}

/** Docker stores a context's endpoint under `contexts/meta/<sha256(name)>/meta.json`. */
function contextHost(name: string, env: NodeJS.ProcessEnv, home: string, readFile: (p: string) => string): string | undefined {
  const configDir = env.DOCKER_CONFIG || join(home, ".docker");
  const id = createHash("sha256").update(name).digest("hex");
  try {
    const meta = JSON.parse(readFile(join(configDir, "contexts", "meta", id, "meta.json"))) as {
      Endpoints?: { docker?: { Host?: unknown } };
    };
    const host = meta.Endpoints?.docker?.Host;
    return typeof host === "string" ? host : undefined;
  } catch {
    return undefined;
  }
}

function readText(path: string): string {
  return readFileSync(path, "utf8");
}
