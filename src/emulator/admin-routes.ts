/**
 * Test hooks under `/__emulator/`: fault rules (`GET|POST|DELETE
 * /__emulator/faults`, `DELETE /__emulator/faults/{id}`) and a state dump
 * (`GET /__emulator/state`). Never subject to faults themselves.
 */
import type { Context } from "koa";
import type { EmulatorContext } from "./emulator-context.js";
import { validateFaultRule } from "./faults.js";
import { BODY_LIMITS, readJson } from "./http-body.js";
import { HttpError } from "./http-error.js";
import { requireKey, requireMethod } from "./koa-helpers.js";

/** Path prefix of the admin and test-hook routes. */
export const ADMIN_PREFIX = "/__emulator/";

/** Serves `/__emulator/…` (auth like the job API when a key is set). */
export async function handleAdminRoute(ctx: Context, app: EmulatorContext): Promise<void> {
  requireKey(ctx, app.clientKeys);
  const [resource, id, ...extra] = ctx.path.slice(ADMIN_PREFIX.length).split("/");
  if (extra.length > 0) throw new HttpError(404, `route not found: ${ctx.method} ${ctx.path}`);
  if (resource === "state" && id === undefined) {
    requireMethod(ctx, "GET");
    ctx.body = app.state();
    return;
  }
  if (resource !== "faults") throw new HttpError(404, `route not found: ${ctx.method} ${ctx.path}`);
  if (id !== undefined && id !== "") {
    requireMethod(ctx, "DELETE");
    if (!app.faults.remove(id)) throw new HttpError(404, `fault ${id} not found`);
    ctx.body = { removed: 1 };
    return;
  }
  requireMethod(ctx, "GET", "POST", "DELETE");
  if (ctx.method === "GET") {
    ctx.body = { faults: app.faults.list() };
  } else if (ctx.method === "DELETE") {
    ctx.body = { removed: app.faults.clear() };
  } else {
    const body = await readJson(ctx.req, BODY_LIMITS.rest);
    const rules = (Array.isArray(body) ? body : [body]).map(validateFaultRule);
    const added = rules.map((rule) => app.faults.add(rule));
    ctx.body = Array.isArray(body) ? { faults: added } : added[0];
  }
}
