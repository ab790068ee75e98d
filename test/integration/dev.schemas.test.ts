/**
 * Issue acceptance (typed /docs and input validation), through a real
 * `flash dev` process in local mode (emulator and worker processes): the
 * functions' TypeScript types (remote() and Endpoint, queue-based and
 * load-balanced) reach /openapi.json with their JSDoc; a body that does not
 * match gets 422 INVALID_INPUT naming each field by JSON path, a matching
 * one runs; query strings become numbers where the type says so; and after
 * the type is edited in the file, the new schema is used. The test waits on
 * the server's event stream (`schemas`), never on a sleep.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import type { DevProcess } from "../helpers/dev-process.js";

type Json = Record<string, unknown>;

const greetSource = (field: string): string => `import { remote, CpuLiveServerless } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "schemas-greet", workersMax: 1 });

/** What to greet. */
export interface Greeting {
  /** Who to greet. */
  ${field}: string;
  times?: number;
  mood: "happy" | "sad";
}

/**
 * Greets someone.
 *
 * Repeats the greeting as many times as asked.
 */
export const greet = remote(cpu, async (input: Greeting) => ({ text: \`\${input.mood} hello \${input.${field}}\`.repeat(input.times ?? 1) }));
`;

const API = `import { Endpoint, CpuInstanceType } from "flash-ts";
const api = new Endpoint({ name: "schemas-api", cpu: CpuInstanceType.CPU3C_2_4, workers: [0, 1] });

/** Lists items. */
export const list = api.get("/items", async (input: { limit: number; verbose?: boolean }) => ({ limit: input.limit, type: typeof input.limit, verbose: input.verbose ?? false }));

/** Renames an item. */
export const rename = api.post("/items/{id}", async (input: { id: number; label: string }) => ({ id: input.id, idType: typeof input.id, label: input.label }));

/** Shouts a text. */
export const shout = Endpoint.fn({ name: "schemas-shout", cpu: CpuInstanceType.CPU3C_2_4 }, async (input: { text: string }) => input.text.toUpperCase());
`;

interface ServerEvent {
  event: string;
  data: Json;
}

/** Reads the dev server's event stream; `next` resolves with the next event that matches. */
async function openEvents(url: string): Promise<{ next(event: string, filter?: (data: Json) => boolean, timeoutMs?: number): Promise<Json>; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(`${url}/__flash/events`, { signal: controller.signal });
  if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
  const waiters = new Set<(e: ServerEvent) => void>();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) for (const w of [...waiters]) w({ event, data: JSON.parse(data) as Json });
        }
      }
    } catch {
      // closed
    }
  })();
  return {
    next(event, filter = () => true, timeoutMs = 60_000) {
      return new Promise<Json>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (e: ServerEvent): void => {
          if (e.event !== event || !filter(e.data)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(e.data);
        };
        waiters.add(waiter);
      });
    },
    close: () => controller.abort(),
  };
}

let dir: string;
let dev: DevProcess;
let events: Awaited<ReturnType<typeof openEvents>>;

async function openApi(): Promise<Json> {
  return (await (await fetch(`${dev.url}/openapi.json`)).json()) as Json;
}

/** The document once the schemas of generation `atLeast` (or later) are ready: waits on the `schemas` event. */
async function typedDocument(atLeast = 0): Promise<Json> {
  // Listen first, then look: the event cannot slip by between the two.
  const arrived = events.next("schemas", (d) => d.ok === true && (d.generation as number) >= atLeast);
  const doc = await openApi();
  const state = doc["x-flash-schemas"] as { status: string; generation: number };
  if (state.status === "ready" && state.generation >= atLeast) return doc;
  await arrived;
  return openApi();
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(dev.url + path, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const mismatchesOf = (body: Json): unknown => (body.error as Json).mismatches;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-schemas-"));
  await writeFile(join(dir, "greet.ts"), greetSource("name"));
  await writeFile(join(dir, "api.ts"), API);
  dev = await startDevProcess(dir);
  events = await openEvents(dev.url);
}, 120_000);

afterAll(async () => {
  events?.close();
  await dev?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("flash dev with typed functions", () => {
  it("documents remote() and Endpoint functions with their TypeScript types and JSDoc", async () => {
    const doc = await typedDocument();
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const greet = paths["/greet/run_sync"]!.post!;
    expect(greet.summary).toBe("Greets someone.");
    expect(greet.description).toContain("Repeats the greeting as many times as asked.");
    const body = ((greet.requestBody as Json).content as Json)["application/json"] as Json;
    expect(body.schema).toMatchObject({ properties: { input: { $ref: "#/components/schemas/Greeting" } } });
    expect(body.example).toEqual({ input: { name: "string", times: 0, mood: "happy" } });
    const greeting = ((doc.components as Json).schemas as Json).Greeting as Json;
    expect(greeting).toMatchObject({
      type: "object",
      properties: { name: { type: "string", description: "Who to greet." }, times: { type: "number" }, mood: { type: "string", enum: ["happy", "sad"] } },
      required: ["name", "mood"],
    });

    const list = paths["/api/items"]!.get!;
    expect(list.summary).toBe("Lists items.");
    expect(list.parameters).toEqual([
      expect.objectContaining({ name: "limit", in: "query", required: true, schema: { type: "number" } }),
      expect.objectContaining({ name: "verbose", in: "query", required: false, schema: { type: "boolean" } }),
    ]);
    const rename = paths["/api/items/{id}"]!.post!;
    expect(rename.parameters).toEqual([expect.objectContaining({ name: "id", in: "path", schema: { type: "number" } })]);
    // The file's one queue-based function: POST /api/run_sync.
    const shout = paths["/api/run_sync"]!.post!;
    expect(shout.summary).toBe("Shouts a text.");
    expect((((shout.requestBody as Json).content as Json)["application/json"] as Json).schema).toMatchObject({
      properties: { input: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } },
    });
  });

  it("answers a body that does not match with 422 INVALID_INPUT naming each field by JSON path, and runs one that does", async () => {
    await typedDocument();
    const wrong = await call("POST", "/greet/run_sync", { input: { name: 42, mood: "angry" } });
    expect(wrong.status).toBe(422);
    expect((wrong.body.error as Json).code).toBe("INVALID_INPUT");
    expect(mismatchesOf(wrong.body)).toEqual([
      { path: "$.input.name", message: "expected string, got number" },
      { path: "$.input.mood", message: 'expected one of "happy", "sad", got "angry"' },
    ]);
    const right = await call("POST", "/greet/run_sync", { input: { name: "Ada", mood: "happy", times: 2 } });
    expect(right.status, JSON.stringify(right.body)).toBe(200);
    expect(right.body.output).toEqual({ text: "happy hello Adahappy hello Ada" });

    // Load-balanced (Endpoint routes): a query string is converted where the type says number or boolean.
    const listed = await call("GET", "/api/items?limit=3&verbose=true");
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body).toEqual({ limit: 3, type: "number", verbose: true });
    const badQuery = await call("GET", "/api/items?limit=three");
    expect(badQuery.status).toBe(422);
    expect(mismatchesOf(badQuery.body)).toEqual([{ path: "$.limit", message: 'expected number, got "three"' }]);
    const renamed = await call("POST", "/api/items/7", { label: "seven" });
    expect(renamed.body).toEqual({ id: 7, idType: "number", label: "seven" });
    expect(mismatchesOf((await call("POST", "/api/items/7", { label: 7 })).body)).toEqual([{ path: "$.label", message: "expected string, got number" }]);

    // A queue-based Endpoint function.
    const shoutPath = "/api/run_sync";
    expect(mismatchesOf((await call("POST", shoutPath, { input: { text: 1 } })).body)).toEqual([{ path: "$.input.text", message: "expected string, got number" }]);
    expect((await call("POST", shoutPath, { input: { text: "hi" } })).body.output).toBe("HI");
  });

  it("uses the new schema after the type is edited in the file", async () => {
    const before = await typedDocument();
    const generation = (before["x-flash-schemas"] as { generation: number }).generation;
    const arrived = events.next("schemas", (d) => d.ok === true && (d.generation as number) > generation);
    await writeFile(join(dir, "greet.ts"), greetSource("who"));
    await arrived;
    const doc = await openApi();
    expect(((doc.components as Json).schemas as Json).Greeting).toMatchObject({ required: ["who", "mood"] });
    const old = await call("POST", "/greet/run_sync", { input: { name: "Ada", mood: "happy" } });
    expect(old.status).toBe(422);
    expect(mismatchesOf(old.body)).toEqual([{ path: "$.input.who", message: "missing (expected string)" }]);
    const now = await call("POST", "/greet/run_sync", { input: { who: "Ada", mood: "sad" } });
    expect(now.status, JSON.stringify(now.body)).toBe(200);
    expect(now.body.output).toEqual({ text: "sad hello Ada" });
  });
});

describe("flash dev with FLASH_SCHEMAS=0", () => {
  let off: DevProcess;
  let offDir: string;

  beforeAll(async () => {
    offDir = await mkdtemp(join(tmpdir(), "flash-schemas-off-"));
    await writeFile(join(offDir, "greet.ts"), greetSource("name"));
    off = await startDevProcess(offDir, [], { FLASH_SCHEMAS: "0" });
  }, 120_000);

  afterAll(async () => {
    await off?.stop();
    if (offDir) await rm(offDir, { recursive: true, force: true });
  });

  it("computes no schemas: the routes are documented untyped and no body is refused for its shape", async () => {
    const doc = (await (await fetch(`${off.url}/openapi.json`)).json()) as Json;
    expect(doc["x-flash-schemas"]).toMatchObject({ status: "off" });
    const res = await fetch(`${off.url}/greet/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { name: "Ada", mood: "calm" } }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).output).toEqual({ text: "calm hello Ada" });
  });
});
