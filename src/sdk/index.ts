/**
 * The flash-ts SDK: what user code imports.
 *
 *   import { Endpoint, GpuGroup } from "flash-ts";
 *   import { remote, LiveServerless, CpuLiveLoadBalancer } from "flash-ts";
 */
import { getRegistry } from "./registry.js";

export { remote, normalizeRoutePath } from "./remote.js";
export { Endpoint } from "./endpoint.js";
export type { EndpointOptions } from "./endpoint-options.js";
export { EndpointJob } from "./endpoint-job.js";
export type { WaitOptions } from "./endpoint-job.js";
export type { RunOptions, RunsyncOptions, RequestOptions, QueryValue } from "./endpoint-client.js";
export { EndpointJobError } from "./endpoint-errors.js";
export type { EndpointJobErrorReason } from "./endpoint-errors.js";
export type { JobStatus, JobState, JobPolicy } from "../runpod/wire-types.js";
export type { RemoteFunction } from "./remote.js";
export type { RemoteOptions, HttpMethod } from "./registry.js";
export {
  ResourceConfig,
  LiveServerless,
  CpuLiveServerless,
  LiveLoadBalancer,
  CpuLiveLoadBalancer,
  isResourceConfig,
} from "./resources.js";
export type {
  BaseResourceOptions,
  GpuResourceOptions,
  CpuResourceOptions,
  ResourceSpec,
  ScalerType,
  EndpointKind,
  ComputeKind,
} from "./resources.js";
export { GpuGroup, GpuType, CpuInstanceType } from "./hardware.js";
export { AppError } from "../common/errors.js";

// Create the registry as soon as the SDK loads: bundles tag their modules
// through globalThis and must find it there.
getRegistry();
