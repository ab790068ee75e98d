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
export { createContainerRuntime } from "./engine-runtime.js";
export { resolveDockerEndpoints, parseDockerHost, isLocalEndpoint } from "./docker-endpoint.js";
export type { DockerEndpoint } from "./docker-endpoint.js";
export { LABELS } from "./labels.js";
export type * from "./container-runtime.js";

export { resolveContainerMode } from "./container-mode.js";
