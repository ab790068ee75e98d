/**
 * The flash-ts SDK: what user code imports.
 *
 *   import { remote, LiveServerless, CpuLiveLoadBalancer, GpuGroup } from "flash-ts";
 */
import { getRegistry } from "./registry.js";

export { remote, normalizeRoutePath } from "./remote.js";
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
export { AppError } from "../shared/errors.js";

// Create the registry as soon as the SDK loads: bundles tag their modules
// through globalThis and must find it there.
getRegistry();
