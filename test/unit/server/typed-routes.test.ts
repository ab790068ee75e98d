/**
 * Function routes with type schemas: a request whose input does not match
 * its function's parameter type is a 422 INVALID_INPUT naming each mismatch
 * by JSON path; a matching one reaches the function (with query strings
 * converted where the type says number or boolean, and date-time strings
 * revived as Dates); a generation whose schemas are not ready is served
 * unvalidated; and each request is checked with the schemas of the
 * generation it was routed on.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { FunctionSchemas } from "../../../src/discovery/type-schema/index.js";
import type { GenerationSchemas, SchemaSource } from "../../../src/server/function-schemas.js";
import type { RouteGeneration } from "../../../src/server/route-generation.js";
import type { JsonSchema } from "../../../src/common/json-schema.js";
import { deferred, lbEntry, manifestOf, qbEntry, startTestServer } from "../../helpers/server-fixtures.js";
import type { TestServer } from "../../helpers/server-fixtures.js";

const REF = "#/components/schemas/";

function fn(id: string, input: JsonSchema | null, extra: Partial<FunctionSchemas> = {}): FunctionSchemas {
  return { id, input, inputRequired: input !== null, output: {}, returnsValue: true, notes: { input: [], output: [] }, ...extra };
}

const definitions: Record<string, JsonSchema> = {
  Greeting: {
    title: "Greeting",
    type: "object",
    properties: { name: { type: "string" }, times: { type: "number" }, mood: { type: "string", enum: ["happy", "sad"] } },
    required: ["name", "mood"],
  },
};

const functions: Record<string, FunctionSchemas> = {
  "greet.ts#greet": fn("greet.ts#greet", { $ref: `${REF}Greeting` }),
  "greet.ts#optional": fn("greet.ts#optional", { $ref: `${REF}Greeting` }, { inputRequired: false }),
  "greet.ts#noInput": fn("greet.ts#noInput", null),
  "items.ts#list": fn("items.ts#list", {
    type: "object",
    properties: { limit: { type: "number" }, verbose: { type: "boolean" }, tag: { type: "string" } },
    required: ["limit"],
  }),
  "items.ts#update": fn("items.ts#update", {
    type: "object",
    properties: { id: { type: "number" }, at: { type: "string", format: "date-time", "x-flash-type": "Date" } },
    required: ["id", "at"],
  }),
};

const entries = [
  qbEntry("greet.ts", "greet", { many: true }),
  qbEntry("greet.ts", "optional", { many: true }),
  qbEntry("greet.ts", "noInput", { many: true }),
  lbEntry("items.ts", "list", "GET", "/items"),
  lbEntry("items.ts", "update", "POST", "/items/:id"),
];

/** A schema source the test sets per generation id. */
function schemaSource(): SchemaSource & { set(generation: number, schemas: GenerationSchemas): void } {
  const byGeneration = new Map<number, GenerationSchemas>();
  return {
    set: (generation, schemas) => byGeneration.set(generation, schemas),
    forGeneration: (generation: RouteGeneration) => byGeneration.get(generation.id) ?? { status: "pending" },
  };
}

const ready = (fns = functions): GenerationSchemas => ({ status: "ready", functions: fns, definitions, issues: [], untyped: {} });

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(source: SchemaSource): Promise<TestServer> {
  server = await startTestServer({ manifest: manifestOf(entries, 1), schemas: source });
  return server;
}

interface ErrorBody {
  error: { code: string; message: string; mismatches?: { path: string; message: string }[] };
}

describe("typed function routes", () => {
  it("answers 422 INVALID_INPUT listing each mismatch of a queue request by JSON path, and lets a matching one through", async () => {
    const source = schemaSource();
    source.set(1, ready());
    const s = await start(source);
    const wrong = await s.post("/greet/greet/run_sync", { input: { name: 42, mood: "angry" } });
    expect(wrong.status).toBe(422);
    const body = wrong.body as ErrorBody;
    expect(body.error.code).toBe("INVALID_INPUT");
    expect(body.error.mismatches).toEqual([
      { path: "$.input.name", message: "expected string, got number" },
      { path: "$.input.mood", message: 'expected one of "happy", "sad", got "angry"' },
    ]);
    expect(body.error.message).toContain("$.input.name: expected string, got number");
    expect(s.invoker.calls).toHaveLength(0);

    // A body without "input" is the input itself: its paths start at $.
    const bare = await s.post("/greet/greet/run_sync", { mood: "happy" });
    expect((bare.body as ErrorBody).error.mismatches).toEqual([{ path: "$.name", message: "missing (expected string)" }]);

    const right = await s.post("/greet/greet/run_sync", { input: { name: "Ada", mood: "happy", extra: true } });
    expect(right.status).toBe(200);
    expect(s.invoker.calls.at(-1)?.input).toEqual({ name: "Ada", mood: "happy", extra: true });
  });

  it("does not validate a function that takes no input, nor an optional parameter left out", async () => {
    const source = schemaSource();
    source.set(1, ready());
    const s = await start(source);
    expect((await s.post("/greet/noInput/run_sync", { input: { anything: 1 } })).status).toBe(200);
    expect((await s.post("/greet/optional/run_sync", "")).status).toBe(200);
    expect((await s.post("/greet/optional/run_sync", { input: { name: 1, mood: "happy" } })).status).toBe(422);
  });

  it("converts query strings where the type says number or boolean, and refuses text that is not one", async () => {
    const source = schemaSource();
    source.set(1, ready());
    const s = await start(source);
    const ok = await s.fetch("/items/items?limit=5&verbose=true&tag=7");
    expect(ok.status).toBe(200);
    expect(s.invoker.calls.at(-1)?.input).toEqual({ limit: 5, verbose: true, tag: "7" });
    const bad = await s.fetch("/items/items?limit=five");
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as ErrorBody).error.mismatches).toEqual([{ path: "$.limit", message: 'expected number, got "five"' }]);
  });

  it("converts path parameters and revives date-time strings where the type is a Date", async () => {
    const source = schemaSource();
    source.set(1, ready());
    const s = await start(source);
    const ok = await s.post("/items/items/12", { at: "2025-03-01T10:00:00Z" });
    expect(ok.status).toBe(200);
    const input = s.invoker.calls.at(-1)?.input as { id: unknown; at: unknown };
    expect(input.id).toBe(12);
    expect(input.at).toBeInstanceOf(Date);
    expect((input.at as Date).toISOString()).toBe("2025-03-01T10:00:00.000Z");
    const bad = await s.post("/items/items/twelve", { at: "soon" });
    expect((bad.body as ErrorBody).error.mismatches?.map((m) => m.path)).toEqual(["$.at", "$.id"]);
  });

  it("serves a generation whose schemas are not ready (or off, or failed) unvalidated", async () => {
    const source = schemaSource();
    const s = await start(source);
    for (const state of [{ status: "pending" }, { status: "off" }, { status: "failed", message: "the thread crashed" }] as GenerationSchemas[]) {
      source.set(1, state);
      const res = await s.post("/greet/greet/run_sync", { input: { name: 42 } });
      expect(res.status, state.status).toBe(200);
      expect(s.invoker.calls.at(-1)?.input).toEqual({ name: 42 });
    }
    // Query strings stay text when nothing says otherwise.
    await s.fetch("/items/items?limit=5");
    expect(s.invoker.calls.at(-1)?.input).toEqual({ limit: "5" });
  });

  it("does not validate a function its generation names as untyped (its file failed to load)", async () => {
    const source = schemaSource();
    source.set(1, { ...(ready() as Extract<GenerationSchemas, { status: "ready" }>), untyped: { "greet.ts#greet": "greet.ts failed to load" } });
    const s = await start(source);
    expect((await s.post("/greet/greet/run_sync", { input: { name: 42 } })).status).toBe(200);
  });

  it("checks a request with the schemas of the generation it was routed on, even after a swap", async () => {
    const source = schemaSource();
    source.set(1, ready());
    // Generation 2 renames the field: `name` becomes `who`.
    const renamed: Record<string, FunctionSchemas> = {
      ...functions,
      "greet.ts#greet": fn("greet.ts#greet", { type: "object", properties: { who: { type: "string" } }, required: ["who"] }),
    };
    source.set(2, ready(renamed));
    const s = await start(source);
    // Know when the request has been routed (it captures its generation before reading the body).
    const routed = deferred<RouteGeneration>();
    const acquire = s.routes.acquire.bind(s.routes);
    s.routes.acquire = async (...args) => {
      const generation = await acquire(...args);
      routed.resolve(generation);
      return generation;
    };
    const body = JSON.stringify({ input: { who: "Ada" } });
    const req = request(`${s.url}/greet/greet/run_sync`, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
    });
    req.write(body.slice(0, 5));
    expect((await routed.promise).id).toBe(1);
    s.routes.load(manifestOf(entries, 2));
    req.end(body.slice(5));
    // Generation 1's schema wants `name`: the body written for generation 2 does not match it.
    const { status, text } = await answer;
    expect(status).toBe(422);
    expect((JSON.parse(text) as ErrorBody).error.mismatches?.map((m) => m.path)).toEqual(["$.input.name", "$.input.mood"]);
    // A request routed on generation 2 is checked with its schemas.
    expect((await s.post("/greet/greet/run_sync", { input: { who: "Ada" } })).status).toBe(200);
  });
});
