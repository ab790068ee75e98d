/** Small helpers shared by the route modules. */
import type { Context } from "koa";
import { isAuthorized } from "./auth.js";
import { HttpError } from "./http-error.js";

/** Throws 401 unless the request carries one of `keys` (no keys configured = open). */
export function requireKey(ctx: Context, keys: readonly string[]): void {
  if (!isAuthorized(ctx.get("authorization") || undefined, keys)) {
    throw new HttpError(401, ctx.get("authorization") ? "invalid API key" : "missing API key (Authorization header)");
  }
}

/** Throws 405 unless the method is one of `methods`. */
export function requireMethod(ctx: Context, ...methods: string[]): void {
  if (!methods.includes(ctx.method)) {
    ctx.set("Allow", methods.join(", "));
    throw new HttpError(405, `method ${ctx.method} not allowed here; use ${methods.join(" or ")}`);
  }
}

/** A query parameter as one string (the first when repeated). */
export function queryParam(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A numeric query parameter clamped to [min, max]; `fallback` when absent or not a number. */
export function clampedQuery(ctx: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = queryParam(ctx, name);
  const value = raw === undefined || raw === "" ? NaN : Number(raw);
  if (!Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

/**
 * Awaits what a long-poll holds the request for (a job to take, a job's end,
 * a stop). If the client goes away first, `cancel` runs, so a held long-poll
 * does not hand a job to a closed connection.
 */
export async function holdForClient<T>(ctx: Context, wait: Promise<T>, cancel: () => void): Promise<T> {
  const detach = onClientGone(ctx, cancel);
  try {
    return await wait;
  } finally {
    detach();
  }
}

function onClientGone(ctx: Context, cancel: () => void): () => void {
  const res = ctx.res;
  const listener = (): void => {
    if (!res.writableEnded) cancel();
  };
  res.once("close", listener);
  return () => res.off("close", listener);
}
