/**
 * Validation of REST v2 create and update bodies against the parts of the
 * OpenAPI schema that matter. Schema violations (wrong types, missing or
 * unknown fields) are 422 with one message per field in `errors`, as the
 * spec's validation failures are; cross-field rules the spec states in prose
 * (exactly one of gpu/cpu, min <= max) and the bounds the spec leaves open
 * (ENDPOINT_LIMITS, docs/limits.md) are 400.
 */
import type { CreateEndpointRequest, EndpointScaling, UpdateEndpointRequest } from "../runpod/wire-types.js";
import { HttpError } from "./http-error.js";
import { isRecord } from "../shared/is-record.js";
import { MAX_TIMEOUT_MS } from "./job-record.js";

const CONTAINER_FIELDS = ["image", "args", "disk", "env", "ports", "registry"] as const;
const CREATE_FIELDS = new Set<string>([
  ...CONTAINER_FIELDS,
  "name",
  "type",
  "scaling",
  "templateId",
  "gpu",
  "cpu",
  "workers",
  "dataCenterIds",
  "networkVolumes",
  "timeout",
  "flashboot",
]);
const UPDATE_FIELDS = new Set<string>([...CREATE_FIELDS].filter((f) => f !== "type"));
const GPU_FIELDS = new Set(["pools", "excludedTypes", "count", "allowedCudaVersions", "minCudaVersion"]);

/**
 * Bounds the OpenAPI schema leaves open (docs/limits.md, Emulator bounds).
 * Runpod caps the sum of `workers.max` over an account's endpoints with the
 * account's worker quota; per endpoint the emulator takes what flash-ts's
 * resource configs can ask for. How many worker processes run at once is
 * capped separately (see WorkerPool).
 */
export const ENDPOINT_LIMITS = { maxWorkers: 1000, nameLength: 128 } as const;

class Checker {
  readonly errors: string[] = [];
  fail(path: string, message: string): void {
    this.errors.push(`${path}: ${message}`);
  }
  string(value: unknown, path: string, minLength = 0): boolean {
    if (typeof value !== "string") return (this.fail(path, "expected string"), false);
    if (value.length < minLength) return (this.fail(path, `length must be >= ${minLength}`), false);
    return true;
  }
  integer(value: unknown, path: string, min?: number, max?: number): boolean {
    if (typeof value !== "number" || !Number.isInteger(value)) return (this.fail(path, "expected integer"), false);
    if (min !== undefined && value < min) return (this.fail(path, `must be >= ${min}`), false);
    if (max !== undefined && value > max) return (this.fail(path, `must be <= ${max}`), false);
    return true;
  }
  stringArray(value: unknown, path: string, minItems = 0): boolean {
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) return (this.fail(path, "expected array of strings"), false);
    if (value.length < minItems) return (this.fail(path, `must have at least ${minItems} item(s)`), false);
    return true;
  }
  oneOf(value: unknown, path: string, allowed: readonly string[]): boolean {
    if (typeof value !== "string" || !allowed.includes(value)) return (this.fail(path, `must be one of ${allowed.join(", ")}`), false);
    return true;
  }
  unknownFields(body: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
    for (const key of Object.keys(body)) if (!allowed.has(key)) this.fail(path, `additional properties '${key}' not allowed`);
  }
}

function checkContainer(c: Checker, body: Record<string, unknown>): void {
  if (body.image !== undefined) c.string(body.image, "$.image");
  if (body.args !== undefined) c.string(body.args, "$.args");
  if (body.disk !== undefined) c.integer(body.disk, "$.disk", 1);
  if (body.env !== undefined) {
    if (!isRecord(body.env)) c.fail("$.env", "expected object");
    else for (const [k, v] of Object.entries(body.env)) if (typeof v !== "string") c.fail(`$.env.${k}`, "expected string");
  }
  if (body.ports !== undefined) c.stringArray(body.ports, "$.ports");
  if (body.registry !== undefined && body.registry !== null) c.string(body.registry, "$.registry");
}

function checkScaling(c: Checker, value: unknown): void {
  if (!isRecord(value)) return c.fail("$.scaling", "expected object");
  if (value.type === "QUEUE_DELAY") {
    c.unknownFields(value, new Set(["type", "queueDelay"]), "$.scaling");
    if (typeof value.queueDelay !== "number" || value.queueDelay < 0.5) c.fail("$.scaling.queueDelay", "expected number >= 0.5");
  } else if (value.type === "REQUEST_COUNT") {
    c.unknownFields(value, new Set(["type", "requestCount"]), "$.scaling");
    c.integer(value.requestCount, "$.scaling.requestCount", 1);
  } else {
    c.fail("$.scaling.type", "must be one of QUEUE_DELAY, REQUEST_COUNT");
  }
}

function checkWorkers(c: Checker, value: unknown): void {
  if (!isRecord(value)) return c.fail("$.workers", "expected object");
  c.unknownFields(value, new Set(["min", "max", "idleTimeout"]), "$.workers");
  if (value.min !== undefined) c.integer(value.min, "$.workers.min", 0);
  if (value.max !== undefined) c.integer(value.max, "$.workers.max", 0);
  if (value.idleTimeout !== undefined) c.integer(value.idleTimeout, "$.workers.idleTimeout", 1, 3600);
}

function checkGpu(c: Checker, value: unknown, create: boolean): void {
  if (!isRecord(value)) return c.fail("$.gpu", "expected object");
  c.unknownFields(value, GPU_FIELDS, "$.gpu");
  if (value.pools !== undefined || create) c.stringArray(value.pools, "$.gpu.pools", 1);
  if (value.excludedTypes !== undefined) c.stringArray(value.excludedTypes, "$.gpu.excludedTypes");
  if (!create && value.excludedTypes !== undefined && value.pools === undefined) c.fail("$.gpu.excludedTypes", "requires pools");
  if (value.count !== undefined) c.integer(value.count, "$.gpu.count", 1);
  if (value.allowedCudaVersions !== undefined) c.stringArray(value.allowedCudaVersions, "$.gpu.allowedCudaVersions");
  if (value.minCudaVersion !== undefined && value.minCudaVersion !== null) c.string(value.minCudaVersion, "$.gpu.minCudaVersion");
}

function checkCpu(c: Checker, value: unknown): void {
  if (!Array.isArray(value) || value.length === 0) return c.fail("$.cpu", "expected non-empty array");
  value.forEach((item, i) => {
    if (!isRecord(item)) return c.fail(`$.cpu[${i}]`, "expected object");
    c.unknownFields(item, new Set(["id", "vcpuCount"]), `$.cpu[${i}]`);
    c.string(item.id, `$.cpu[${i}].id`, 1);
    // The spec says >= 2 and a power of two for the flavour; the emulator has no catalog, so it only asks for a positive integer.
    c.integer(item.vcpuCount, `$.cpu[${i}].vcpuCount`, 1);
  });
}

function checkCommon(c: Checker, body: Record<string, unknown>, create: boolean): void {
  checkContainer(c, body);
  if (body.name !== undefined || create) c.string(body.name, "$.name", 1);
  if (body.scaling !== undefined || create) checkScaling(c, body.scaling);
  if (body.templateId !== undefined) c.string(body.templateId, "$.templateId", 1);
  if (body.gpu !== undefined) checkGpu(c, body.gpu, create);
  if (body.cpu !== undefined) checkCpu(c, body.cpu);
  if (body.workers !== undefined) checkWorkers(c, body.workers);
  if (body.dataCenterIds !== undefined) c.stringArray(body.dataCenterIds, "$.dataCenterIds");
  if (body.networkVolumes !== undefined) c.stringArray(body.networkVolumes, "$.networkVolumes");
  if (body.timeout !== undefined) checkTimeout(c, body.timeout);
  if (body.flashboot !== undefined) c.oneOf(body.flashboot, "$.flashboot", ["OFF", "FLASHBOOT", "PRIORITY_FLASHBOOT"]);
}

/**
 * The execution timeout in ms: 0 (none) up to 7 days. The bound is Runpod's
 * and also what keeps the job timer valid (Node fires a setTimeout above
 * 2^31-1 ms at once, so a huge timeout would fail every job immediately).
 */
function checkTimeout(c: Checker, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_TIMEOUT_MS) {
    c.fail("$.timeout", `must be an integer number of milliseconds from 0 (no timeout) to ${MAX_TIMEOUT_MS} (7 days)`);
  }
}

function throwIfErrors(c: Checker): void {
  if (c.errors.length > 0) throw new HttpError(422, "Request validation failed.", c.errors);
}

/** 400 for values of the right type past ENDPOINT_LIMITS (run after the schema checks). */
function checkLimits(body: Record<string, unknown>): void {
  const errors: string[] = [];
  if (typeof body.name === "string") {
    if (body.name.length > ENDPOINT_LIMITS.nameLength) errors.push(`$.name: must be at most ${ENDPOINT_LIMITS.nameLength} characters (got ${body.name.length})`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(body.name)) errors.push("$.name: must not contain control characters");
  }
  if (isRecord(body.workers)) {
    for (const key of ["min", "max"] as const) {
      const value = body.workers[key];
      if (typeof value === "number" && value > ENDPOINT_LIMITS.maxWorkers) errors.push(`$.workers.${key}: must be <= ${ENDPOINT_LIMITS.maxWorkers} (got ${value})`);
    }
  }
  if (errors.length > 0) throw new HttpError(400, "Request exceeds the emulator's limits.", errors);
}

/**
 * The spec omits (and rejects) `workers.idleTimeout` for queue endpoints that
 * scale on request count.
 */
function checkIdleTimeoutRule(type: unknown, scaling: EndpointScaling | undefined, workers: unknown): void {
  if (type === "QUEUE" && scaling?.type === "REQUEST_COUNT" && isRecord(workers) && workers.idleTimeout !== undefined) {
    throw new HttpError(400, "workers.idleTimeout does not apply to QUEUE endpoints scaling on REQUEST_COUNT");
  }
}

/** Validates a create body; throws HttpError (400/422). */
export function validateCreateEndpoint(body: unknown): CreateEndpointRequest {
  if (!isRecord(body)) throw new HttpError(422, "Request validation failed.", ["$: expected object"]);
  const c = new Checker();
  c.unknownFields(body, CREATE_FIELDS, "$");
  checkCommon(c, body, true);
  if (body.type === undefined) c.fail("$.type", "is required");
  else c.oneOf(body.type, "$.type", ["QUEUE", "LOAD_BALANCER"]);
  if (body.image === undefined && body.templateId === undefined) c.fail("$.image", "is required unless templateId is set");
  throwIfErrors(c);
  checkLimits(body);
  const scaling = body.scaling as EndpointScaling;
  if (body.type === "LOAD_BALANCER" && scaling.type !== "REQUEST_COUNT") {
    throw new HttpError(422, "Request validation failed.", ["$.scaling.type: LOAD_BALANCER endpoints must use REQUEST_COUNT"]);
  }
  if ((body.gpu === undefined) === (body.cpu === undefined)) throw new HttpError(400, "specify exactly one of gpu or cpu");
  checkMinMax(body.workers);
  checkIdleTimeoutRule(body.type, scaling, body.workers);
  return body as unknown as CreateEndpointRequest;
}

/** Validates an update body against the endpoint it changes; throws HttpError (400/422). */
export function validateUpdateEndpoint(
  body: unknown,
  current: { type: string; scaling: EndpointScaling; workers: { min: number; max: number }; hasGpu: boolean },
): UpdateEndpointRequest {
  if (!isRecord(body)) throw new HttpError(422, "Request validation failed.", ["$: expected object"]);
  const c = new Checker();
  c.unknownFields(body, UPDATE_FIELDS, "$");
  checkCommon(c, body, false);
  throwIfErrors(c);
  checkLimits(body);
  const scaling = (body.scaling as EndpointScaling | undefined) ?? current.scaling;
  if (current.type === "LOAD_BALANCER" && scaling.type !== "REQUEST_COUNT") {
    throw new HttpError(422, "Request validation failed.", ["$.scaling.type: LOAD_BALANCER endpoints must use REQUEST_COUNT"]);
  }
  if (body.gpu !== undefined && body.cpu !== undefined) throw new HttpError(400, "specify at most one of gpu or cpu");
  if (body.gpu !== undefined && !current.hasGpu) throw new HttpError(400, "gpu cannot be set on a CPU endpoint; the compute family is immutable");
  if (body.cpu !== undefined && current.hasGpu) throw new HttpError(400, "cpu cannot be set on a GPU endpoint; the compute family is immutable");
  const workers = isRecord(body.workers) ? { ...current.workers, ...body.workers } : undefined;
  checkMinMax(workers);
  checkIdleTimeoutRule(current.type, scaling, body.workers);
  return body as UpdateEndpointRequest;
}

function checkMinMax(workers: unknown): void {
  if (!isRecord(workers)) return;
  const min = typeof workers.min === "number" ? workers.min : 0;
  const max = typeof workers.max === "number" ? workers.max : 3;
  if (min > max) throw new HttpError(400, `workers.min (${min}) must not exceed workers.max (${max})`);
}
