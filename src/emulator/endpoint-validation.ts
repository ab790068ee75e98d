/**
 * Validation of REST v2 create and update bodies against the parts of the
 * OpenAPI schema that matter. Schema violations (wrong types, missing or
 * unknown fields) are 422 with one message per field in `errors`, as the
 * spec's validation failures are; cross-field rules the spec states in prose
 * (exactly one of gpu/cpu, min <= max) and the bounds the spec leaves open
 * (ENDPOINT_LIMITS, docs/limits.md) are 400.
 */
import * as v from "valibot";
import type { CreateEndpointRequest, EndpointScaling, UpdateEndpointRequest } from "../runpod/wire-types.js";
import { CreateEndpointRequestSchema, UpdateEndpointRequestSchema } from "../runpod/wire-schemas.js";
import { HttpError } from "./http-error.js";
import { isRecord } from "../common/is-record.js";
import { describeIssues } from "../common/schema.js";

/**
 * Bounds the OpenAPI schema leaves open (docs/limits.md, Emulator bounds).
 * Runpod caps the sum of `workers.max` over an account's endpoints with the
 * account's worker quota; per endpoint the emulator takes what flash-ts's
 * resource configs can ask for. How many worker processes run at once is
 * capped separately (see WorkerPool).
 */
export const ENDPOINT_LIMITS = { maxWorkers: 1000, nameLength: 128 } as const;

/**
 * The body against the schema (runpod/wire-schemas.ts, which the provisioner's
 * bodies are typed from); 422 with one message per field, as `$.path: what`.
 */
function checkSchema<S extends v.GenericSchema>(schema: S, body: unknown, extra: string[] = []): v.InferOutput<S> {
  const result = v.safeParse(schema, body, { abortPipeEarly: true });
  const errors = result.success ? [] : describeIssues(result.issues).map(({ path, message }) => `$${path === "" ? "" : path.startsWith("[") ? path : `.${path}`}: ${message}`);
  errors.push(...extra);
  if (!result.success || errors.length > 0) throw new HttpError(422, "Request validation failed.", errors);
  return result.output;
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
  const crossField = isRecord(body) && body.image === undefined && body.templateId === undefined ? ["$.image: is required unless templateId is set"] : [];
  const valid = checkSchema(CreateEndpointRequestSchema, body, crossField);
  checkLimits(valid);
  if (valid.type === "LOAD_BALANCER" && valid.scaling.type !== "REQUEST_COUNT") {
    throw new HttpError(422, "Request validation failed.", ["$.scaling.type: LOAD_BALANCER endpoints must use REQUEST_COUNT"]);
  }
  if ((valid.gpu === undefined) === (valid.cpu === undefined)) throw new HttpError(400, "specify exactly one of gpu or cpu");
  checkMinMax(valid.workers);
  checkIdleTimeoutRule(valid.type, valid.scaling, valid.workers);
  return valid;
}

/** Validates an update body against the endpoint it changes; throws HttpError (400/422). */
export function validateUpdateEndpoint(
  body: unknown,
  current: { type: string; scaling: EndpointScaling; workers: { min: number; max: number }; hasGpu: boolean },
): UpdateEndpointRequest {
  const crossField = isRecord(body) && isRecord(body.gpu) && body.gpu.excludedTypes !== undefined && body.gpu.pools === undefined ? ["$.gpu.excludedTypes: requires pools"] : [];
  const valid = checkSchema(UpdateEndpointRequestSchema, body, crossField);
  checkLimits(valid);
  const scaling = valid.scaling ?? current.scaling;
  if (current.type === "LOAD_BALANCER" && scaling.type !== "REQUEST_COUNT") {
    throw new HttpError(422, "Request validation failed.", ["$.scaling.type: LOAD_BALANCER endpoints must use REQUEST_COUNT"]);
  }
  if (valid.gpu !== undefined && valid.cpu !== undefined) throw new HttpError(400, "specify at most one of gpu or cpu");
  if (valid.gpu !== undefined && !current.hasGpu) throw new HttpError(400, "gpu cannot be set on a CPU endpoint; the compute family is immutable");
  if (valid.cpu !== undefined && current.hasGpu) throw new HttpError(400, "cpu cannot be set on a GPU endpoint; the compute family is immutable");
  const workers = valid.workers ? { ...current.workers, ...valid.workers } : undefined;
  checkMinMax(workers);
  checkIdleTimeoutRule(current.type, scaling, valid.workers);
  return valid;
}

function checkMinMax(workers: unknown): void {
  if (!isRecord(workers)) return;
  const min = typeof workers.min === "number" ? workers.min : 0;
  const max = typeof workers.max === "number" ? workers.max : 3;
  if (min > max) throw new HttpError(400, `workers.min (${min}) must not exceed workers.max (${max})`);
}
