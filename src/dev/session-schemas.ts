/**
 * The type schemas of a dev session's route generations (docs/type-schemas.md,
 * "Wiring"): the schema service (a worker thread with the TypeScript
 * compiler) describes each generation after it is served, never before:
 *
 * - a swap first, then a short delay (so the request that follows a save is
 *   not competing with the compiler for the CPU), then one extraction; a
 *   reload that starts during the delay cancels it (its swap starts the next
 *   one), and the service replaces a waiting request with a newer one, so a
 *   burst of saves costs one extraction. The thread itself runs at the
 *   lowest CPU priority (`schema-thread.ts`);
 * - a result belongs to the generation it was computed for and is kept only
 *   while that generation is served; until then (or when it failed) the
 *   generation is served unvalidated and /openapi.json says so;
 * - functions whose file failed to load in a generation (their last version
 *   is served, not the source on disk) are served without types in it;
 * - the service (and so the compiler) starts only after the first routes are
 *   served, and not at all with `FLASH_SCHEMAS=0`.
 */
import type { Manifest } from "../discovery/manifest.js";
import type { SchemaTarget, TypeSchemaService, TypeSchemaServiceOptions } from "../discovery/type-schema/index.js";
import { RESERVED_SCHEMA_NAMES } from "../server/function-schemas.js";
import type { GenerationSchemas, SchemaSource } from "../server/function-schemas.js";
import type { RouteGeneration } from "../server/route-generation.js";
import type { RouteTable } from "../server/route-table.js";
import type { Clock } from "../common/clock.js";
import { AppError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { DevSessionEmitter } from "./session-events.js";

/** How long after a swap the extraction starts. */
export const SCHEMA_DELAY_MS = 100;

/** Changed paths that are not source: they never change a type. */
const NOT_SOURCE = new Set([".env", ".flashignore", ".gitignore"]);

export interface SessionSchemasOptions {
  root: string;
  /** `FLASH_SCHEMAS` is read from it. */
  env: NodeJS.ProcessEnv;
  routes: RouteTable;
  events: DevSessionEmitter;
  clock: Clock;
  logger: Logger;
  createService(options: TypeSchemaServiceOptions): TypeSchemaService;
  /** Default {@link SCHEMA_DELAY_MS}. */
  delayMs?: number;
}

export interface SessionSchemas extends SchemaSource {
  /** False with `FLASH_SCHEMAS=0`. */
  readonly enabled: boolean;
  /** Describes the generation served now and every one swapped in later. Call once the first routes are served. */
  start(): void;
  /** Stops the service; later swaps start nothing. Idempotent. */
  close(): Promise<void>;
}

/** `FLASH_SCHEMAS`: on unless `0`, `false` or `off`; anything else unknown is refused. */
export function schemasEnabled(env: NodeJS.ProcessEnv): boolean {
  const value = env.FLASH_SCHEMAS?.trim().toLowerCase() ?? "";
  if (["", "1", "true", "on"].includes(value)) return true;
  if (["0", "false", "off"].includes(value)) return false;
  throw new AppError("INVALID_INPUT", `FLASH_SCHEMAS must be 0 or 1 (got ${JSON.stringify(env.FLASH_SCHEMAS)})`, {
    hint: "FLASH_SCHEMAS=0 turns off the request schemas of /docs and input validation; leave it unset to keep them.",
  });
}

/** The functions to describe, and those served without types because their file's last version is served. */
function targetsOf(manifest: Manifest): { targets: SchemaTarget[]; untyped: Record<string, string> } {
  const stale = new Map<string, string>();
  for (const issue of manifest.issues) {
    if (issue.severity === "warning" || issue.code === "ROUTE_COLLISION") continue;
    for (const file of [issue.file, ...(issue.related ?? [])]) stale.set(file, `${issue.file} failed to load`);
  }
  for (const file of manifest.unsettled?.files ?? []) stale.set(file, `${file} looks half-saved`);
  const targets: SchemaTarget[] = [];
  const untyped: Record<string, string> = {};
  for (const fn of manifest.functions) {
    const why = stale.get(fn.file);
    if (why) untyped[fn.id] = `${why}; its last version is served, whose types are not known`;
    else targets.push({ id: fn.id, file: fn.file, export: fn.export, ...(fn.method ? { method: fn.method } : {}) });
  }
  return { targets, untyped };
}

export function createSessionSchemas(options: SessionSchemasOptions): SessionSchemas {
  const { routes, events, clock, logger } = options;
  const enabled = schemasEnabled(options.env);
  const delayMs = options.delayMs ?? SCHEMA_DELAY_MS;
  // Weak: a generation no longer served (nor held by a request) takes its schemas with it.
  const states = new WeakMap<RouteGeneration, GenerationSchemas>();
  const unsubscribe: (() => void)[] = [];
  let service: TypeSchemaService | undefined;
  let started = false;
  let closed = false;
  /** Source paths changed since the last extraction was sent. */
  let changed = new Set<string>();
  let delay: AbortController | undefined;

  const describe = async (generation: RouteGeneration, swappedAt: number): Promise<void> => {
    // A newer generation was swapped in meanwhile: its own delay is running.
    if (closed || routes.current !== generation) return;
    const { targets, untyped } = targetsOf(generation.manifest);
    const changedPaths = [...changed];
    changed = new Set();
    service ??= options.createService({ root: options.root, reservedNames: RESERVED_SCHEMA_NAMES });
    const outcome = await service.extract(targets, { changedPaths });
    // Superseded: a newer request took its place (and its changed paths). Either way, a result
    // is only kept while its generation is served (docs/type-schemas.md, "Wiring").
    if (closed || outcome.status === "superseded" || routes.current !== generation) return;
    if (outcome.status === "failed") {
      states.set(generation, { status: "failed", message: outcome.error.message });
      logger.warn(`${outcome.error.message}; requests are served without input validation until the next reload.`);
      events.emit("schemasUpdated", { generation: generation.id, ok: false, error: outcome.error });
      return;
    }
    const { set } = outcome;
    states.set(generation, { status: "ready", functions: set.functions, definitions: set.definitions, issues: set.issues, untyped });
    for (const issue of set.issues) logger.debug(`no type schema for ${issue.id}: ${issue.message}`);
    events.emit("schemasUpdated", {
      generation: generation.id,
      ok: true,
      functions: set.stats.functions,
      reusedFunctions: set.stats.reusedFunctions,
      issues: set.issues.length,
      durationMs: set.stats.durationMs,
      sinceSwapMs: clock.now() - swappedAt,
    });
  };

  const schedule = (generation: RouteGeneration): void => {
    delay?.abort();
    const controller = new AbortController();
    delay = controller;
    const swappedAt = clock.now();
    clock.sleep(delayMs, controller.signal).then(
      () => {
        if (delay === controller) delay = undefined;
        void describe(generation, swappedAt);
      },
      () => {
        // a newer swap restarted the delay, or the session is closing
      },
    );
  };

  return {
    enabled,
    forGeneration(generation) {
      if (!enabled) return { status: "off" };
      return states.get(generation) ?? { status: "pending" };
    },
    start() {
      if (!enabled || started || closed) return;
      started = true;
      unsubscribe.push(
        events.on("reloadStarted", (e) => {
          for (const path of e.paths) if (!NOT_SOURCE.has(path)) changed.add(path);
          // The reload's discovery gets the CPU: its swap schedules the next extraction.
          delay?.abort();
          delay = undefined;
        }),
        routes.onSwap((generation) => schedule(generation)),
        // A failed reload swaps nothing: the generation still served may be waiting for its schemas.
        events.on("reloadFinished", (e) => {
          const current = routes.current;
          if (!e.ok && current && !states.has(current)) schedule(current);
        }),
      );
      if (routes.current) schedule(routes.current);
    },
    async close() {
      if (closed) return;
      closed = true;
      delay?.abort();
      for (const off of unsubscribe.splice(0)) off();
      await service?.close();
    },
  };
}
