/**
 * The options of `Endpoint` (Python Flash's parameters in TypeScript idiom),
 * checked at construction and mapped onto the resource config options that
 * remote() configs take, so an Endpoint's functions are served, provisioned
 * and reloaded exactly like remote()'s (docs/internals.md, "Endpoint").
 */
import { AppError } from "../common/errors.js";
import { isRecord } from "../common/is-record.js";
import type { CpuInstanceType, GpuGroup, GpuType } from "./hardware.js";
import { checkDependencies, configError } from "./remote.js";
import { CONFIG_LABEL } from "./resources.js";
import type { CpuResourceOptions, GpuResourceOptions, ScalerType } from "./resources.js";

/** Options of `new Endpoint(…)`. */
export interface EndpointOptions {
  /**
   * The endpoint's name; flash creates it as `live-<name>`. Letters, digits,
   * `-`, `_`, `.`. `Endpoint.fn(options, fn)` takes the function's (or
   * class's) own name when this is left out. With `id`, only a label.
   */
  name?: string;
  /** Makes this a client of an existing endpoint (its Runpod id): `run`, `runsync`, `get`/`post`/…. */
  id?: string;
  /** GPU pools and/or types a worker may run on. Default `GpuGroup.ANY` (unless `cpu` is given). */
  gpu?: GpuGroup | GpuType | readonly (GpuGroup | GpuType)[];
  /** CPU instance types (e.g. `CpuInstanceType.CPU3C_2_4` or `"cpu3c-2-4"`); makes a CPU endpoint. */
  cpu?: CpuInstanceType | string | readonly (CpuInstanceType | string)[];
  /** GPUs per worker. Default 1. */
  gpuCount?: number;
  /** Lowest CUDA version of the workers' hosts, e.g. `"12.8"`. Default: any. */
  minCudaVersion?: string;
  /** Workers: `n` means `[0, n]`; `[min, max]`. Default `[0, 1]`. Workers kept warm bill while idle. */
  workers?: number | readonly [min: number, max: number];
  /** Seconds an idle worker is kept (1–3600). Default 60. */
  idleTimeout?: number;
  /** Longest run of one call, in ms; 0 means the platform's default (5 min). Default 0. */
  executionTimeoutMs?: number;
  /** npm packages installed on the workers, e.g. `["sharp@0.34"]`. */
  dependencies?: readonly string[];
  /** Debian packages installed on the workers (apt-get), e.g. `["ffmpeg"]`. */
  systemDependencies?: readonly string[];
  /** Environment variables of the workers. */
  env?: Record<string, string>;
  /** The id of a network volume to attach. */
  volume?: string;
  /** Data center id, e.g. `"EU-RO-1"`. Default: any. */
  datacenter?: string;
  /** The workers' container image (it needs Node.js 22 or newer). Default: flash's Node image. */
  image?: string;
  /** Autoscaler signal. Default `QUEUE_DELAY` for queue-based, `REQUEST_COUNT` for routes. */
  scalerType?: ScalerType;
  /** Seconds of queue delay, or requests per worker. Default 4. */
  scalerValue?: number;
  /** FlashBoot: `true` (default), `false`, or `"priority"`. */
  flashboot?: boolean | "priority";
  /** Container disk per worker, in GB. Default: the platform's. */
  containerDiskGb?: number;
}

/** The options a resource config is built from (everything but its kind). */
export type EndpointConfigOptions = (GpuResourceOptions | CpuResourceOptions) & {
  image?: string;
  systemDependencies?: string[];
  [CONFIG_LABEL]: string;
};

/** An Endpoint's options, checked: a client of an existing endpoint, or a definition. */
export type ParsedEndpoint =
  | { mode: "client"; target: { id: string } | { name: string }; name: string | undefined; who: string }
  | { mode: "definer"; name: string; compute: "GPU" | "CPU"; config: EndpointConfigOptions; dependencies: string[] | undefined; who: string };

const KNOWN: ReadonlySet<string> = new Set([
  "name",
  "id",
  "gpu",
  "cpu",
  "gpuCount",
  "minCudaVersion",
  "workers",
  "idleTimeout",
  "executionTimeoutMs",
  "dependencies",
  "systemDependencies",
  "env",
  "volume",
  "datacenter",
  "image",
  "scalerType",
  "scalerValue",
  "flashboot",
  "containerDiskGb",
]);
/** Python parameters with no TypeScript counterpart, and why. */
const PYTHON_ONLY: Readonly<Record<string, string>> = {
  accelerate_downloads: "flash-ts workers install npm packages; there is no download accelerator to switch.",
  template: "Use containerDiskGb for the container disk; other template fields are not needed by flash-ts workers.",
  max_concurrency: "A flash-ts worker takes one job at a time.",
};
const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function unknownOption(who: string, key: string): never {
  const camel = camelCase(key);
  const hint = PYTHON_ONLY[key] ?? (KNOWN.has(camel) && camel !== key ? `The TypeScript name is ${camel}.` : `Options are ${[...KNOWN].join(", ")}.`);
  configError(who, `unknown option ${JSON.stringify(key)}`, hint);
}

/** `gpu`/`cpu` as a list; a single value becomes a list of one. */
function asList(who: string, field: "gpu" | "cpu", value: unknown): string[] {
  const list = typeof value === "string" ? [value] : value;
  const what = field === "gpu" ? "a GpuGroup, a GpuType or a non-empty list of them" : "a CpuInstanceType or a non-empty list of them";
  if (!Array.isArray(list) || list.length === 0) configError(who, `${field} must be ${what} (got ${JSON.stringify(value)})`);
  // Each value is checked by the resource config, which names the unknown one.
  return list as string[];
}

/** `workers` as [min, max]. */
function workersOf(who: string, value: unknown): [number, number] {
  const isCount = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 1000;
  if (isCount(value)) return [0, value];
  if (Array.isArray(value) && value.length === 2 && isCount(value[0]) && isCount(value[1])) {
    const [min, max] = value;
    if (min > max) configError(who, `workers: min (${min}) cannot be greater than max (${max})`);
    return [min, max];
  }
  return configError(who, `workers must be a number of workers or [min, max], integers from 0 to 1000 (got ${JSON.stringify(value)})`, "e.g. workers: 3 (up to three) or workers: [1, 3] (one kept warm).");
}

/** How errors name a definition (`Endpoint("name")`) or a client (`Endpoint({ id: "abc" })`). */
function labelFor(options: EndpointOptions): string {
  if (typeof options.id === "string" && ENDPOINT_ID.test(options.id)) return `Endpoint({ id: ${JSON.stringify(options.id)} })`;
  return typeof options.name === "string" ? `Endpoint(${JSON.stringify(options.name)})` : "Endpoint";
}

/**
 * Checks an Endpoint's options and turns a definition into resource config
 * options. Values the resource configs check themselves (names, ranges, GPU
 * and CPU types, env) are checked there, with errors labelled `Endpoint`.
 * @throws AppError INVALID_CONFIG naming the field.
 */
export function parseEndpointOptions(options: EndpointOptions): ParsedEndpoint {
  if (!isRecord(options)) configError("Endpoint", "expected an options object, e.g. new Endpoint({ name, gpu }) or new Endpoint({ id })");
  const who = labelFor(options);
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) unknownOption(who, key);
  const { id, name } = options;
  if (id === undefined && name === undefined) {
    configError("Endpoint", "name or id is required", "new Endpoint({ name, gpu }) defines an endpoint; new Endpoint({ id }) calls an existing one.");
  }
  if (name !== undefined && typeof name !== "string") configError(who, `name must be a string (got ${JSON.stringify(name)})`);

  if (id !== undefined) {
    if (typeof id !== "string" || !ENDPOINT_ID.test(id)) {
      configError("Endpoint", `id must be a Runpod endpoint id (letters, digits, '-', '_'), got ${JSON.stringify(id)}`);
    }
    if (options.image !== undefined) {
      configError(who, "id and image are mutually exclusive: id calls an existing endpoint, image configures one flash creates");
    }
    const definerFields = Object.keys(options).filter((key) => key !== "id" && key !== "name" && options[key as keyof EndpointOptions] !== undefined);
    if (definerFields.length > 0) {
      configError(who, `${definerFields.join(", ")} configure an endpoint flash creates; a client of an existing endpoint takes only id (and a name for messages)`, "Remove them, or drop id to define the endpoint.");
    }
    return { mode: "client", target: { id }, name, who };
  }

  const definedName = name!;
  if (options.gpu !== undefined && options.cpu !== undefined) configError(who, "gpu and cpu are mutually exclusive; give one (or neither, for any GPU)");
  const compute = options.cpu !== undefined ? "CPU" : "GPU";
  if (compute === "CPU") {
    for (const field of ["gpuCount", "minCudaVersion"] as const) {
      if (options[field] !== undefined) configError(who, `${field} is for GPU endpoints; this one runs on cpu ${JSON.stringify(options.cpu)}`);
    }
  }
  if (options.volume !== undefined && (typeof options.volume !== "string" || options.volume.trim() === "")) {
    configError(who, `volume must be a network volume id (got ${JSON.stringify(options.volume)})`);
  }
  const config: Record<string | symbol, unknown> = { name: definedName, [CONFIG_LABEL]: "Endpoint" };
  if (options.workers !== undefined) [config.workersMin, config.workersMax] = workersOf(who, options.workers);
  const same = ["idleTimeout", "executionTimeoutMs", "env", "datacenter", "image", "scalerType", "scalerValue", "flashboot", "containerDiskGb"] as const;
  for (const field of same) if (options[field] !== undefined) config[field] = options[field];
  if (options.systemDependencies !== undefined) config.systemDependencies = options.systemDependencies;
  if (options.volume !== undefined) config.networkVolumeId = options.volume;
  if (compute === "GPU") {
    if (options.gpu !== undefined) config.gpus = asList(who, "gpu", options.gpu);
    if (options.gpuCount !== undefined) config.gpuCount = options.gpuCount;
    if (options.minCudaVersion !== undefined) config.minCudaVersion = options.minCudaVersion;
  } else {
    config.instanceIds = asList(who, "cpu", options.cpu);
  }
  const dependencies = options.dependencies === undefined ? undefined : checkDependencies(options.dependencies, who);
  return { mode: "definer", name: definedName, compute, config: config as unknown as EndpointConfigOptions, dependencies, who };
}

/** A client of the endpoint named `name` (Endpoint.connect), resolved at its first call. */
export function parseConnectByName(name: unknown): ParsedEndpoint {
  if (typeof name !== "string" || name.trim() === "") {
    configError("Endpoint.connect", `give { id } or { name } of an existing endpoint (got name ${JSON.stringify(name)})`);
  }
  return { mode: "client", target: { name }, name, who: `Endpoint.connect({ name: ${JSON.stringify(name)} })` };
}

/** The error of an Endpoint used the other way round (a definition as a client, a client as a definition). */
export function misuse(who: string, message: string, hint: string): AppError {
  return new AppError("INVALID_CONFIG", `${who}: ${message}`, { hint });
}
