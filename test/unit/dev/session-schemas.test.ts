/**
 * The session's type schemas (src/dev/session-schemas.ts), with a schema
 * service the test answers and a fake clock; the route table and the event
 * emitter are real. Each generation is served unvalidated until its own
 * schemas are ready, a result is kept only for the generation it was
 * computed for, a burst of swaps costs one extraction, and FLASH_SCHEMAS=0
 * starts nothing.
 */
import { describe, expect, it } from "vitest";
import { createSessionSchemas } from "../../../src/dev/session-schemas.js";
import type { SessionSchemas } from "../../../src/dev/session-schemas.js";
import { DevSessionEmitter } from "../../../src/dev/session-events.js";
import type { DevSessionEvents } from "../../../src/dev/session-events.js";
import type { DiscoveryIssue, FunctionEntry } from "../../../src/discovery/manifest.js";
import type { ExtractOptions, ExtractOutcome, SchemaSet, SchemaTarget, TypeSchemaService, TypeSchemaServiceOptions } from "../../../src/discovery/type-schema/index.js";
import { RouteTable } from "../../../src/server/route-table.js";
import type { RouteGeneration } from "../../../src/server/route-generation.js";
import { AppError } from "../../../src/common/errors.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { manifestOf, qbEntry } from "../../helpers/server-fixtures.js";

interface Request {
  targets: SchemaTarget[];
  options: ExtractOptions;
  resolve(outcome: ExtractOutcome): void;
}

interface Harness {
  schemas: SessionSchemas;
  routes: RouteTable;
  events: DevSessionEmitter;
  clock: FakeClock;
  logger: ReturnType<typeof createMemoryLogger>;
  created: TypeSchemaServiceOptions[];
  requests: Request[];
  closed: () => boolean;
  updates: DevSessionEvents["schemasUpdated"][];
  /** Swaps in a manifest of `functions` as generation `id`. */
  swap(id: number, functions?: FunctionEntry[], issues?: DiscoveryIssue[]): RouteGeneration;
}

const greet = qbEntry("greet.ts", "greet", { many: true });
const wave = qbEntry("greet.ts", "wave", { many: true });
const old = qbEntry("broken.ts", "old", { many: true });

function setOf(targets: readonly SchemaTarget[]): SchemaSet {
  const functions = Object.fromEntries(
    targets.map((t) => [t.id, { id: t.id, input: { type: "string" as const }, inputRequired: true, output: {}, returnsValue: true, notes: { input: [], output: [] } }]),
  );
  const program = { durationMs: 1, sourceFiles: 1, parsedFiles: 1, reusedStructure: false, optionsChanged: false };
  return { functions, definitions: {}, issues: [], stats: { durationMs: 12, program, functions: targets.length, reusedFunctions: 0, definitions: 0 } };
}

function harness(env: NodeJS.ProcessEnv = {}): Harness {
  const routes = new RouteTable();
  const events = new DevSessionEmitter();
  const clock = new FakeClock();
  const logger = createMemoryLogger("debug");
  const created: TypeSchemaServiceOptions[] = [];
  const requests: Request[] = [];
  let closed = false;
  const updates: DevSessionEvents["schemasUpdated"][] = [];
  events.on("schemasUpdated", (e) => updates.push(e));
  const createService = (options: TypeSchemaServiceOptions): TypeSchemaService => {
    created.push(options);
    return {
      extract: (targets, options = {}) => new Promise<ExtractOutcome>((resolve) => requests.push({ targets: [...targets], options, resolve })),
      close: async () => {
        closed = true;
      },
    };
  };
  const swap = (id: number, functions = [greet], issues: DiscoveryIssue[] = []): RouteGeneration => routes.load(manifestOf(functions, id, issues));
  swap(1);
  const schemas = createSessionSchemas({ root: "/project", env, routes, events, clock, logger, createService });
  return { schemas, routes, events, clock, logger, created, requests, closed: () => closed, updates, swap };
}

/** Lets the schema module react to a resolved extraction. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("session schemas", () => {
  it("starts nothing before start(), then serves a generation unvalidated until its schemas are ready", async () => {
    const h = harness();
    const first = h.routes.current!;
    expect(h.schemas.forGeneration(first)).toEqual({ status: "pending" });
    expect(h.created).toEqual([]);

    h.schemas.start();
    // A short delay first, so the request that follows a save is not competing with the compiler.
    await h.clock.sleepingFor(100);
    expect(h.requests).toEqual([]);
    await h.clock.advance(100);
    expect(h.created).toEqual([expect.objectContaining({ root: "/project", reservedNames: expect.arrayContaining(["Error", "QueueRequest", "QueueResponse"]) })]);
    expect(h.requests).toHaveLength(1);
    expect(h.requests[0]!.targets).toEqual([{ id: "greet.ts#greet", file: "greet.ts", export: "greet" }]);
    expect(h.schemas.forGeneration(first)).toEqual({ status: "pending" });

    h.requests[0]!.resolve({ status: "done", set: setOf(h.requests[0]!.targets) });
    await settle();
    expect(h.schemas.forGeneration(first)).toMatchObject({ status: "ready", functions: { "greet.ts#greet": { input: { type: "string" } } }, untyped: {} });
    expect(h.updates).toEqual([expect.objectContaining({ ok: true, generation: 1, functions: 1, durationMs: 12 })]);
  });

  it("describes a burst of swaps once, after the last, told every changed source path", async () => {
    const h = harness();
    h.schemas.start();
    await h.clock.advance(100);
    h.requests[0]!.resolve({ status: "done", set: setOf(h.requests[0]!.targets) });
    await settle();

    h.events.emit("reloadStarted", { paths: ["greet.ts"] });
    h.swap(2);
    await h.clock.advance(50);
    h.events.emit("reloadStarted", { paths: ["lib/util.ts", ".env"] });
    const third = h.swap(3, [greet, wave]);
    await h.clock.advance(99);
    expect(h.requests).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.requests).toHaveLength(2);
    expect(h.requests[1]!.targets.map((t) => t.id)).toEqual(["greet.ts#greet", "greet.ts#wave"]);
    expect(h.requests[1]!.options).toEqual({ changedPaths: ["greet.ts", "lib/util.ts"] });
    h.requests[1]!.resolve({ status: "done", set: setOf(h.requests[1]!.targets) });
    await settle();
    expect(h.schemas.forGeneration(third).status).toBe("ready");
    expect(h.updates.map((u) => u.generation)).toEqual([1, 3]);
  });

  it("does not start an extraction while a reload runs; after a failed one, describes the generation still served", async () => {
    const h = harness();
    const first = h.routes.current!;
    h.schemas.start();
    await h.clock.advance(50);
    // A save: the reload's discovery gets the CPU, not the compiler.
    h.events.emit("reloadStarted", { paths: ["greet.ts"] });
    await h.clock.advance(500);
    expect(h.requests).toEqual([]);
    h.events.emit("reloadFinished", { ok: false, paths: ["greet.ts"], durationMs: 5, error: new AppError("FUNCTION_LOAD_FAILED", "syntax error") });
    await h.clock.advance(100);
    expect(h.requests).toHaveLength(1);
    expect(h.requests[0]!.options).toEqual({ changedPaths: ["greet.ts"] });
    h.requests[0]!.resolve({ status: "done", set: setOf(h.requests[0]!.targets) });
    await settle();
    expect(h.schemas.forGeneration(first).status).toBe("ready");
  });

  it("keeps a result only for the generation it was computed for", async () => {
    const h = harness();
    const first = h.routes.current!;
    h.schemas.start();
    await h.clock.advance(100);
    // The code changes while generation 1 is being described.
    const second = h.swap(2, [greet, wave]);
    h.requests[0]!.resolve({ status: "done", set: setOf(h.requests[0]!.targets) });
    await settle();
    // Generation 1 is no longer served: its result is dropped, and generation 2 does not borrow it.
    expect(h.schemas.forGeneration(first)).toEqual({ status: "pending" });
    expect(h.schemas.forGeneration(second)).toEqual({ status: "pending" });
    expect(h.updates).toEqual([]);

    await h.clock.advance(100);
    h.requests[1]!.resolve({ status: "done", set: setOf(h.requests[1]!.targets) });
    await settle();
    expect(h.schemas.forGeneration(second)).toMatchObject({ status: "ready", functions: { "greet.ts#wave": {} } });
    expect(h.schemas.forGeneration(first)).toEqual({ status: "pending" });
  });

  it("reports nothing for a superseded extraction; the one that replaced it fills its generation", async () => {
    const h = harness();
    h.schemas.start();
    await h.clock.advance(100);
    const second = h.swap(2);
    await h.clock.advance(100);
    h.requests[0]!.resolve({ status: "superseded" });
    await settle();
    expect(h.updates).toEqual([]);
    expect(h.schemas.forGeneration(second)).toEqual({ status: "pending" });
    h.requests[1]!.resolve({ status: "done", set: setOf(h.requests[1]!.targets) });
    await settle();
    expect(h.schemas.forGeneration(second).status).toBe("ready");
    expect(h.updates.map((u) => [u.generation, u.ok])).toEqual([[2, true]]);
  });

  it("serves a generation whose extraction failed unvalidated, says why, and tries again on the next swap", async () => {
    const h = harness();
    const first = h.routes.current!;
    h.schemas.start();
    await h.clock.advance(100);
    h.requests[0]!.resolve({ status: "failed", error: new AppError("INTERNAL", "The type schema thread ran out of memory") });
    await settle();
    expect(h.schemas.forGeneration(first)).toEqual({ status: "failed", message: "The type schema thread ran out of memory" });
    expect(h.updates).toEqual([expect.objectContaining({ ok: false, generation: 1 })]);
    expect(h.logger.lines.join("\n")).toContain("The type schema thread ran out of memory");
    h.swap(2);
    await h.clock.advance(100);
    expect(h.requests).toHaveLength(2);
  });

  it("does not validate the functions of a file that failed to load (its last version is served)", async () => {
    const h = harness();
    const issue: DiscoveryIssue = { code: "FUNCTION_LOAD_FAILED", file: "broken.ts", line: 3, message: "Unexpected token (still serving the last version that loaded)" };
    const generation = h.swap(2, [greet, old], [issue]);
    h.schemas.start();
    await h.clock.advance(100);
    expect(h.requests[0]!.targets.map((t) => t.id)).toEqual(["greet.ts#greet"]);
    h.requests[0]!.resolve({ status: "done", set: setOf(h.requests[0]!.targets) });
    await settle();
    const state = h.schemas.forGeneration(generation);
    expect(state.status === "ready" && state.untyped).toEqual({ "broken.ts#old": expect.stringContaining("broken.ts failed to load") });
  });

  it("with FLASH_SCHEMAS=0 starts no service and documents every generation as off", async () => {
    const h = harness({ FLASH_SCHEMAS: "0" });
    h.schemas.start();
    h.swap(2);
    await h.clock.advance(1000);
    expect(h.created).toEqual([]);
    expect(h.requests).toEqual([]);
    expect(h.schemas.forGeneration(h.routes.current!)).toEqual({ status: "off" });
    expect(h.schemas.enabled).toBe(false);
  });

  it("refuses a FLASH_SCHEMAS value it does not know, naming it", () => {
    expect(() => harness({ FLASH_SCHEMAS: "maybe" })).toThrow(expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("FLASH_SCHEMAS") }));
    for (const value of ["1", "true", "on", "", "0", "false", "off"]) expect(() => harness({ FLASH_SCHEMAS: value })).not.toThrow();
  });

  it("close() stops the service and any waiting extraction; later swaps start nothing", async () => {
    const h = harness();
    h.schemas.start();
    await h.clock.advance(100);
    h.swap(2);
    await h.clock.sleepingFor(100);
    await h.schemas.close();
    expect(h.closed()).toBe(true);
    h.swap(3);
    await h.clock.advance(1000);
    expect(h.requests).toHaveLength(1);
    h.requests[0]!.resolve({ status: "done", set: setOf(h.requests[0]!.targets) });
    await settle();
    expect(h.updates).toEqual([]);
  });
});
