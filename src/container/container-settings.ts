/**
 * The dev container's settings, defined once. The host CLI's container
 * (`dev-container-spec.ts`) and the compose.yaml and devcontainer.json that
 * `flash init` writes (`project-files.ts`) are made from these; this
 * repository's own compose.yaml and .devcontainer are checked against them by
 * a unit test. docs/internals.md, "The dev container".
 */

/** Where the project is mounted inside the container. */
export const WORKSPACE = "/workspace";
/** Where the folder of a `.env` above the project is mounted (read-only). */
export const OUTER_ENV_DIR = "/run/flash-env";
/** The port `flash dev` listens on inside the container. */
export const CONTAINER_PORT = 8888;
/** Mounted from the host explicitly: endpoint cache and emulator state outlive the container. */
export const STATE_DIR = ".runpod";
/** A named volume over the project's node_modules: modules are built inside, for Linux. */
export const DEPS_DIR = "node_modules";

/** What runs inside: `flash dev` on every interface of the container, on its fixed port. */
export const DEV_COMMAND: readonly string[] = ["flash", "dev", "--host", "0.0.0.0", "--port", String(CONTAINER_PORT)];

/**
 * Set in every dev container: the marker that makes `flash dev` inside serve
 * directly on 0.0.0.0, and polling, because file events do not cross a bind
 * mount from macOS or Windows. (The dev image sets these itself as well.)
 */
export const CONTAINER_ENV: Readonly<Record<string, string>> = { FLASH_IN_CONTAINER: "1", FLASH_WATCH: "poll" };

/**
 * Host variables the container receives, by name (a trailing `*` matches a
 * prefix), at run time: never built into an image.
 */
export const FORWARDED_ENV: readonly string[] = [
  "RUNPOD_*",
  "FLASH_*",
  "NO_COLOR",
  "FORCE_COLOR",
  "TZ",
  "LANG",
  "LC_ALL",
  "LOG_LEVEL",
  "DEBUG",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  // Only the registry: npm sets dozens of npm_config_* with host paths when it runs us.
  "npm_config_registry",
  "NPM_CONFIG_REGISTRY",
];

/** FLASH_* variables that configure the host side and must not leak inside. */
export const HOST_ONLY_ENV: ReadonlySet<string> = new Set([
  "FLASH_HOST",
  "FLASH_PORT",
  "FLASH_CONTAINER",
  "FLASH_DEV_IMAGE",
  "FLASH_BASE_IMAGE",
  "FLASH_NODE_IMAGE",
  "FLASH_IN_CONTAINER",
  "FLASH_CONTAINER_NAME",
  "FLASH_PUBLIC_URL",
  "FLASH_UID",
  "FLASH_GID",
  "FLASH_PROJECT_DIR",
  "FLASH_ENV_FILE",
  "FLASH_ENV_FILE_HOST",
  "FLASH_CREDENTIALS_FILE",
]);

/**
 * The same, for compose, which passes variables through by exact name only:
 * the settings `flash dev` reads (README, "`flash dev` options").
 */
export const COMPOSE_FORWARDED_ENV: readonly string[] = [
  "RUNPOD_API_KEY",
  "RUNPOD_API_BASE_URL",
  "RUNPOD_ENDPOINT_BASE_URL",
  "FLASH_LOG_LEVEL",
  "FLASH_ALLOWED_HOSTS",
  "FLASH_GPU_IMAGE",
  "FLASH_CPU_IMAGE",
  "FLASH_WORKER_COMMAND",
  "NO_COLOR",
  "TZ",
];

/**
 * The image a team's project runs in (compose, Dev Containers, Codespaces):
 * the stock Node image, pinned to one Node release so everyone runs the same,
 * running the flash-ts the project's lockfile pins. docs/internals.md, "The
 * dev container", says why it is not the dev image.
 */
export const NODE_IMAGE = "node:24.22.3-bookworm-slim";

/** The image's own unprivileged user (uid 1000), which Dev Containers terminals run as. */
export const IMAGE_USER = "node";

/** Codespaces forwards ports under this domain: host names the dev server must answer there. */
export const CODESPACES_ALLOWED_HOSTS = ".app.github.dev";

/** True when `key` is forwarded from the host into the container by the rules above. */
export function isForwardedEnv(key: string): boolean {
  if (HOST_ONLY_ENV.has(key)) return false;
  return FORWARDED_ENV.some((pattern) => (pattern.endsWith("*") ? key.startsWith(pattern.slice(0, -1)) : key === pattern));
}
