/** The Koa state every dev server request carries, and JSON response helpers. */
import type { ParameterizedContext } from "koa";
import type { ErrorCode } from "../common/errors.js";

/** Per-request state, set by the first middleware. */
export interface DevState {
  /** Sent back as `X-Request-Id`. */
  requestId: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** The endpoint (`live-…`) of the function route that served the request. */
  endpointName?: string;
  /** The code of the error the response carries, if any. */
  errorCode?: ErrorCode;
  /** The client closed the connection before the response was written. */
  clientGone?: boolean;
  /** Aborted when the client goes away before the response is written. */
  signal: AbortSignal;
}

export type DevContext = ParameterizedContext<DevState>;

/**
 * JSON.stringify for response bodies. Values JSON has no form for get one
 * that a client can read (a bigint as its decimal string, a Map as an
 * object, a Set or typed array as an array) instead of a TypeError or a
 * surprising `{}`.
 */
export function toJsonText(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), x]));
    if (v instanceof Set) return [...v];
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
    return v;
  }) as string | undefined;
  return text ?? "null";
}

/** Writes a JSON response. */
export function sendJson(ctx: DevContext, status: number, value: unknown): void {
  const text = toJsonText(value);
  ctx.status = status;
  ctx.type = "application/json; charset=utf-8";
  ctx.body = text;
}
