/**
 * Resource configs: which kind of Runpod Serverless endpoint runs a set of
 * remote functions. Mirrors Flash's LiveServerless / CpuLiveServerless /
 * LiveLoadBalancer / CpuLiveLoadBalancer, with the same field names and
 * defaults, validated when constructed.
 */
import { AppError } from "../common/errors.js";
import { stableHash } from "../common/hash.js";
import { isCpuInstanceType, isGpuGroup, isGpuType, unknownMember, CpuInstanceType, GpuGroup, GpuType } from "./hardware.js";

export type ScalerType = "QUEUE_DELAY" | "REQUEST_COUNT";
export type EndpointKind = "QB" | "LB";
export type ComputeKind = "GPU" | "CPU";

/** Fields shared by every resource config. */
export interface BaseResourceOptions {
  /** Endpoint name; the endpoint is created as `live-<name>`. Letters, digits, `-`, `_`, `.`. */
  name: string;
  /** Workers kept warm (they bill while idle). Default 0. */
  workersMin?: number;
  /** Upper bound on workers. Default 1. */
  workersMax?: number;
  /** Seconds an idle worker is kept before it stops (1–3600). Default 60. */
  idleTimeout?: number;
  /** Per-request execution timeout in ms; 0 means the platform default. Default 0. */
  executionTimeoutMs?: number;
  /** Environment variables for the workers. */
  env?: Record<string, string>;
  /** Autoscaler signal. Default QUEUE_DELAY for queue-based, REQUEST_COUNT for load-balanced. */
  scalerType?: ScalerType;
  /** Seconds of queue delay, or requests per worker. Default 4. */
  scalerValue?: number;
  /** FlashBoot (faster cold starts): `true` (default), `false`, or `"priority"` for priority capacity. */
  flashboot?: boolean | "priority";
  /** Container disk per worker, in GB (REST v2 `disk`); default: the platform's. */
  containerDiskGb?: number;
  /** Network volume to attach. */
  networkVolumeId?: string;
  /** Data center id (e.g. `EU-RO-1`); default: any. */
  datacenter?: string;
  /**
   * The workers' container image; it needs Node.js 22 or newer on its PATH.
   * Default FLASH_GPU_IMAGE / FLASH_CPU_IMAGE, else `node:24-bookworm-slim`.
   */
  image?: string;
  /** Debian packages installed on each worker (apt-get) before its first call, e.g. `["ffmpeg"]`. */
  systemDependencies?: string[];
}

export interface GpuResourceOptions extends BaseResourceOptions {
  /** GPU pools and/or types a worker may run on. Default [GpuGroup.ANY]. */
  gpus?: (GpuGroup | GpuType | string)[];
  /** GPUs per worker. Default 1. */
  gpuCount?: number;
  /** Lowest CUDA version a worker's host may have, as `major.minor` (e.g. "12.8"); default: any. */
  minCudaVersion?: string;
}

export interface CpuResourceOptions extends BaseResourceOptions {
  /** CPU instance types. Default [CpuInstanceType.CPU3G_2_8]. */
  instanceIds?: (CpuInstanceType | string)[];
}

/** The normalised, JSON-safe description of a resource config (what is hashed and provisioned). */
export interface ResourceSpec {
  name: string;
  /** `live-<name>` */
  endpointName: string;
  kind: EndpointKind;
  compute: ComputeKind;
  className: string;
  workersMin: number;
  workersMax: number;
  idleTimeout: number;
  executionTimeoutMs: number;
  env: Record<string, string>;
  scalerType: ScalerType;
  scalerValue: number;
  /** Present only when not the default (FLASHBOOT). */
  flashboot?: "OFF" | "PRIORITY_FLASHBOOT";
  containerDiskGb?: number;
  /** GPU configs only, when set. */
  minCudaVersion?: string;
  networkVolumeId?: string;
  datacenter?: string;
  /** GPU configs only: pools and/or types, sorted and de-duplicated. */
  gpus?: string[];
  gpuCount?: number;
  /** CPU configs only. */
  instanceIds?: string[];
  /** The workers' image, when the config names one. */
  image?: string;
  /** Debian packages for the workers, sorted and de-duplicated, when there are any. */
  systemDependencies?: string[];
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** A Docker image reference: `[registry[:port]/]path[:tag][@digest]`, nothing a shell or the engine would read otherwise. */
const IMAGE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9]+)?(?:\/[a-z0-9][a-z0-9._-]*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;
/** A Debian package name, optionally pinned (`name=version`), as apt-get takes it. */
const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]{0,127}(=[A-Za-z0-9.+:~-]{1,128})?$/;

/** True for a Debian package name (optionally `name=version`) that apt-get reads as a package, never as an option. */
export function isDebianPackageName(value: unknown): value is string {
  return typeof value === "string" && DEBIAN_PACKAGE.test(value);
}

/**
 * Names the config in its validation errors instead of its class (Endpoint
 * passes `Endpoint`, so a mistake reads `Endpoint("name"): …`, as written).
 */
export const CONFIG_LABEL = Symbol("flash-ts.configLabel");

function labelOf(options: object, fallback: string): string {
  const label = (options as { [CONFIG_LABEL]?: unknown })[CONFIG_LABEL];
  return typeof label === "string" ? label : fallback;
}

function invalid(className: string, name: string | undefined, message: string, hint?: string): never {
  const who = name ? `${className}("${name}")` : className;
  throw new AppError("INVALID_CONFIG", `${who}: ${message}`, hint ? { hint } : {});
}

function checkInt(className: string, name: string, field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    invalid(className, name, `${field} must be ${range} (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** Base class of the four resource configs. */
export abstract class ResourceConfig {
  readonly name: string;
  readonly workersMin: number;
  readonly workersMax: number;
  readonly idleTimeout: number;
  readonly executionTimeoutMs: number;
  readonly env: Readonly<Record<string, string>>;
  readonly scalerType: ScalerType;
  readonly scalerValue: number;
  readonly flashboot: boolean | "priority";
  readonly containerDiskGb: number | undefined;
  readonly networkVolumeId: string | undefined;
  readonly datacenter: string | undefined;
  readonly image: string | undefined;
  readonly systemDependencies: readonly string[];
  abstract readonly kind: EndpointKind;
  abstract readonly compute: ComputeKind;

  protected constructor(options: BaseResourceOptions, kind: EndpointKind) {
    if (!options || typeof options !== "object") invalid(new.target.name, undefined, "expected an options object with at least a `name`");
    const className = labelOf(options, new.target.name);
    const name = options.name;
    if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
      invalid(
        className,
        typeof name === "string" ? name : undefined,
        `name must be 1–63 letters, digits, '-', '_' or '.', starting with a letter or digit (got ${JSON.stringify(name)})`,
      );
    }
    if (name.startsWith("live-")) {
      invalid(className, name, "name must not start with 'live-': flash adds that prefix to the endpoint name itself");
    }
    this.name = name;
    this.workersMin = checkInt(className, name, "workersMin", options.workersMin ?? 0, 0, 1000);
    this.workersMax = checkInt(className, name, "workersMax", options.workersMax ?? 1, 0, 1000);
    if (this.workersMin > this.workersMax) {
      invalid(className, name, `workersMin (${this.workersMin}) cannot be greater than workersMax (${this.workersMax})`);
    }
    this.idleTimeout = checkInt(className, name, "idleTimeout", options.idleTimeout ?? 60, 1, 3600);
    this.executionTimeoutMs = checkInt(className, name, "executionTimeoutMs", options.executionTimeoutMs ?? 0, 0, 7 * 24 * 3600 * 1000);
    const env = options.env ?? {};
    if (typeof env !== "object" || env === null || Array.isArray(env)) invalid(className, name, "env must be an object of string values");
    for (const [key, value] of Object.entries(env)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) invalid(className, name, `env key ${JSON.stringify(key)} is not a valid variable name`);
      if (typeof value !== "string") invalid(className, name, `env.${key} must be a string (got ${typeof value})`);
    }
    this.env = Object.freeze({ ...env });
    const defaultScaler: ScalerType = kind === "LB" ? "REQUEST_COUNT" : "QUEUE_DELAY";
    const scalerType = options.scalerType ?? defaultScaler;
    if (scalerType !== "QUEUE_DELAY" && scalerType !== "REQUEST_COUNT") {
      invalid(className, name, `scalerType must be "QUEUE_DELAY" or "REQUEST_COUNT" (got ${JSON.stringify(scalerType)})`);
    }
    if (kind === "LB" && scalerType === "QUEUE_DELAY") {
      invalid(className, name, "load-balanced endpoints scale on REQUEST_COUNT; QUEUE_DELAY is for queue-based endpoints", 'Remove scalerType or set it to "REQUEST_COUNT".');
    }
    this.scalerType = scalerType;
    this.scalerValue = checkInt(className, name, "scalerValue", options.scalerValue ?? 4, 1, 10_000);
    const flashboot = options.flashboot ?? true;
    if (flashboot !== true && flashboot !== false && flashboot !== "priority") {
      invalid(className, name, `flashboot must be true, false or "priority" (got ${JSON.stringify(flashboot)})`);
    }
    this.flashboot = flashboot;
    this.containerDiskGb = options.containerDiskGb === undefined ? undefined : checkInt(className, name, "containerDiskGb", options.containerDiskGb, 1, 4096);
    if (options.networkVolumeId !== undefined && (typeof options.networkVolumeId !== "string" || options.networkVolumeId === "")) {
      invalid(className, name, "networkVolumeId must be a non-empty string");
    }
    this.networkVolumeId = options.networkVolumeId;
    if (options.datacenter !== undefined && (typeof options.datacenter !== "string" || !/^[A-Z]{2}-[A-Z]{2,4}-\d+$/.test(options.datacenter))) {
      invalid(className, name, `datacenter must look like "EU-RO-1" (got ${JSON.stringify(options.datacenter)})`);
    }
    this.datacenter = options.datacenter;
    if (options.image !== undefined && (typeof options.image !== "string" || options.image.length > 255 || !IMAGE_PATTERN.test(options.image))) {
      invalid(className, name, `image must be a Docker image reference such as "node:24-bookworm-slim" (got ${JSON.stringify(options.image)})`);
    }
    this.image = options.image;
    const packages = options.systemDependencies ?? [];
    if (!Array.isArray(packages)) invalid(className, name, "systemDependencies must be an array of Debian package names");
    for (const pkg of packages) {
      if (!isDebianPackageName(pkg)) {
        invalid(className, name, `systemDependencies: ${JSON.stringify(pkg)} is not a Debian package name`, "Use names as apt-get takes them, e.g. ffmpeg or libgl1 (optionally name=version).");
      }
    }
    this.systemDependencies = Object.freeze([...new Set(packages)].sort());
  }

  /** The endpoint name flash provisions for this config. */
  get endpointName(): string {
    return `live-${this.name}`;
  }

  /** The normalised spec: plain JSON, the same for the same config every time. */
  toSpec(): ResourceSpec {
    const spec: ResourceSpec = {
      name: this.name,
      endpointName: this.endpointName,
      kind: this.kind,
      compute: this.compute,
      className: this.constructor.name,
      workersMin: this.workersMin,
      workersMax: this.workersMax,
      idleTimeout: this.idleTimeout,
      executionTimeoutMs: this.executionTimeoutMs,
      env: { ...this.env },
      scalerType: this.scalerType,
      scalerValue: this.scalerValue,
    };
    if (this.flashboot !== true) spec.flashboot = this.flashboot === false ? "OFF" : "PRIORITY_FLASHBOOT";
    if (this.containerDiskGb !== undefined) spec.containerDiskGb = this.containerDiskGb;
    if (this.networkVolumeId) spec.networkVolumeId = this.networkVolumeId;
    if (this.datacenter) spec.datacenter = this.datacenter;
    if (this.image) spec.image = this.image;
    if (this.systemDependencies.length > 0) spec.systemDependencies = [...this.systemDependencies];
    return spec;
  }

  /** A short hash of the normalised spec. */
  get configHash(): string {
    return stableHash(this.toSpec());
  }

  toJSON(): ResourceSpec {
    return this.toSpec();
  }
}

abstract class GpuResourceConfig extends ResourceConfig {
  readonly compute = "GPU" as const;
  readonly gpus: readonly string[];
  readonly gpuCount: number;
  readonly minCudaVersion: string | undefined;

  protected constructor(options: GpuResourceOptions, kind: EndpointKind) {
    super(options, kind);
    const className = labelOf(options, new.target.name);
    const gpus = options.gpus ?? [GpuGroup.ANY];
    if (!Array.isArray(gpus) || gpus.length === 0) invalid(className, this.name, "gpus must be a non-empty array of GpuGroup or GpuType values");
    for (const gpu of gpus) {
      const unknown = unknownMember(gpu);
      if (unknown) invalid(className, this.name, `unknown ${unknown.what} "${unknown.member}" (${unknown.enumName}.${unknown.member})`, `${unknown.enumName} has: ${Object.keys(unknown.enumName === "GpuType" ? GpuType : GpuGroup).join(", ")}.`);
      if (typeof gpu !== "string" || (!isGpuGroup(gpu) && !isGpuType(gpu))) {
        invalid(className, this.name, `unknown GPU ${JSON.stringify(gpu)}`, "Use a GpuGroup (e.g. GpuGroup.ADA_24) or a GpuType (e.g. GpuType.NVIDIA_GEFORCE_RTX_4090).");
      }
    }
    this.gpus = Object.freeze([...new Set(gpus)].sort());
    this.gpuCount = checkInt(className, this.name, "gpuCount", options.gpuCount ?? 1, 1, 8);
    if (options.minCudaVersion !== undefined && (typeof options.minCudaVersion !== "string" || !/^\d{1,3}\.\d{1,3}$/.test(options.minCudaVersion))) {
      invalid(className, this.name, `minCudaVersion must be a version like "12.8" (got ${JSON.stringify(options.minCudaVersion)})`);
    }
    this.minCudaVersion = options.minCudaVersion;
  }

  override toSpec(): ResourceSpec {
    return { ...super.toSpec(), gpus: [...this.gpus], gpuCount: this.gpuCount, ...(this.minCudaVersion ? { minCudaVersion: this.minCudaVersion } : {}) };
  }
}

abstract class CpuResourceConfig extends ResourceConfig {
  readonly compute = "CPU" as const;
  readonly instanceIds: readonly string[];

  protected constructor(options: CpuResourceOptions, kind: EndpointKind) {
    super(options, kind);
    const className = labelOf(options, new.target.name);
    if ("gpus" in options || "gpuCount" in options || "minCudaVersion" in options) {
      invalid(className, this.name, "CPU configs take instanceIds, not gpus/gpuCount/minCudaVersion", "Use LiveServerless or LiveLoadBalancer for GPU workers.");
    }
    const ids = options.instanceIds ?? [CpuInstanceType.CPU3G_2_8];
    if (!Array.isArray(ids) || ids.length === 0) invalid(className, this.name, "instanceIds must be a non-empty array of CpuInstanceType values");
    for (const id of ids) {
      const unknown = unknownMember(id);
      if (unknown) invalid(className, this.name, `unknown ${unknown.what} "${unknown.member}" (${unknown.enumName}.${unknown.member})`, `CpuInstanceType has: ${Object.keys(CpuInstanceType).join(", ")}.`);
      if (typeof id !== "string" || !isCpuInstanceType(id)) {
        invalid(className, this.name, `unknown CPU instance type ${JSON.stringify(id)}`, `Use a CpuInstanceType, e.g. ${CpuInstanceType.CPU3G_2_8}.`);
      }
    }
    this.instanceIds = Object.freeze([...new Set(ids)].sort());
  }

  override toSpec(): ResourceSpec {
    return { ...super.toSpec(), instanceIds: [...this.instanceIds] };
  }
}

/** A queue-based endpoint on GPU workers. */
export class LiveServerless extends GpuResourceConfig {
  readonly kind = "QB" as const;
  constructor(options: GpuResourceOptions) {
    super(options, "QB");
  }
}

/** A queue-based endpoint on CPU workers. */
export class CpuLiveServerless extends CpuResourceConfig {
  readonly kind = "QB" as const;
  constructor(options: CpuResourceOptions) {
    super(options, "QB");
  }
}

/** A load-balanced endpoint (HTTP routes) on GPU workers. */
export class LiveLoadBalancer extends GpuResourceConfig {
  readonly kind = "LB" as const;
  constructor(options: GpuResourceOptions) {
    super(options, "LB");
  }
}

/** A load-balanced endpoint (HTTP routes) on CPU workers. */
export class CpuLiveLoadBalancer extends CpuResourceConfig {
  readonly kind = "LB" as const;
  constructor(options: CpuResourceOptions) {
    super(options, "LB");
  }
}

export function isResourceConfig(value: unknown): value is ResourceConfig {
  return value instanceof ResourceConfig;
}
