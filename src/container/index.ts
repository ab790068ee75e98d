/**
 * The containerized `flash dev`: what the dev command needs to decide whether
 * to use a container (`isInsideContainer`, `detectDocker`) and to run in one
 * (`runDevContainer`). The engine is behind `ContainerRuntime`.
 */
export { runDevContainer } from "./run-dev-container.js";
export type { RunDevContainerOptions, InputStream, OutputStream } from "./run-dev-container.js";
export { detectDocker, isInsideContainer, IN_CONTAINER_ENV } from "./detect.js";
export type { DockerDetection, DetectDockerOptions } from "./detect.js";
export { ensureDevImage, collectDevImageContext, DEV_IMAGE_REPOSITORY, DEFAULT_BASE_IMAGE } from "./dev-image.js";
export type { DevImage, EnsureDevImageOptions } from "./dev-image.js";
export { createDevContainerSpec, projectIdentity, displayUrl, CONTAINER_PORT, WORKSPACE } from "./dev-container-spec.js";
export { createDockerContainerRuntime } from "./docker-container-runtime.js";
export { resolveDockerEndpoints, parseDockerHost, isLocalEndpoint } from "./docker-endpoint.js";
export type { DockerEndpoint } from "./docker-endpoint.js";
export { LABELS } from "./labels.js";
export type * from "./container-runtime.js";

/**
 * Whether `flash dev` should run in a container, from the flag and the
 * environment: `--no-container` (or `--container`) beats `FLASH_CONTAINER`
 * (`0`/`false`/`no` off, `1`/`true`/`yes` on); inside a container, never.
 * Returns `"auto"` when it depends on whether an engine answers.
 */
export function resolveContainerMode(flag: boolean | undefined, env: NodeJS.ProcessEnv, inside: boolean): "off" | "on" | "auto" {
  if (inside) return "off";
  if (flag === false) return "off";
  if (flag === true) return "on";
  const v = (env.FLASH_CONTAINER ?? "").trim().toLowerCase();
  if (v === "0" || v === "false" || v === "no" || v === "off") return "off";
  if (v === "1" || v === "true" || v === "yes" || v === "on") return "on";
  return "auto";
}
