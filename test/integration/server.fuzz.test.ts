/**
 * 1,000 random requests (random bytes, deep nesting, unicode, wrong content
 * types, random methods and paths): the server answers every one with the
 * JSON error shape or a success, never a 5xx of its own, and keeps serving.
 * Seeded, so a failure can be replayed with FLASH_FUZZ_SEED.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/common/errors.js";
import { startTestServer } from "../helpers/server-fixtures.js";
import type { TestServer } from "../helpers/server-fixtures.js";

const SEED = Number(process.env.FLASH_FUZZ_SEED ?? Date.now() % 2 ** 31);
const COUNT = 1000;
const LIMIT = 64 * 1024;

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(SEED);
const int = (max: number): number => Math.floor(random() * max);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

function randomString(): string {
  const pools = [
    () => String.fromCharCode(0x20 + int(95)),
    () => String.fromCodePoint(0x80 + int(0x700)),
    () => String.fromCodePoint(0x1f300 + int(0x300)), // emoji
    () => String.fromCodePoint(0x4e00 + int(0x5000)), // CJK
    () => pick(["\u0000", "\n", "\t", '"', "\\", "\u2028", "\ufeff", "\ud800", "\udfff"]), // control, quotes, lone surrogates
  ];
  let out = "";
  for (let i = int(24); i > 0; i--) out += pick(pools)();
  return out;
}

function randomValue(depth: number): unknown {
  const kinds = depth > 6 ? 5 : 8;
  switch (int(kinds)) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return pick([0, -0, 1e308, -1e-308, 2 ** 53 + 1, random() * 1e6, -int(1000)]);
    case 3:
    case 4:
      return randomString();
    case 5:
    case 6: {
      const obj: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) obj[pick([randomString(), "input", "__proto__", "constructor", "id", "fail"])] = randomValue(depth + 1);
      return obj;
    }
    default:
      return Array.from({ length: int(5) }, () => randomValue(depth + 1));
  }
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = int(256);
  return bytes;
}

const encoder = new TextEncoder();

function randomBody(): Uint8Array {
  switch (int(9)) {
    case 0:
      return randomBytes(int(2000));
    case 1: {
      const n = pick([10, 500, 513, 5_000, 100_000]);
      const open = pick(["[", '{"a":']);
      const close = open === "[" ? "]" : "}";
      return encoder.encode(open.repeat(n) + (random() < 0.8 ? close.repeat(n) : ""));
    }
    case 2:
      return encoder.encode(JSON.stringify({ input: randomValue(0) }));
    case 3:
      return encoder.encode(JSON.stringify(randomValue(0)));
    case 4: {
      const text = JSON.stringify({ input: randomValue(0) });
      return encoder.encode(text.slice(0, int(text.length)));
    }
    case 5:
      return encoder.encode(JSON.stringify({ input: "x".repeat(pick([10, 60_000, 70_000, 200_000])) }));
    case 6:
      return new Uint8Array(0);
    case 7:
      return encoder.encode(JSON.stringify({ fail: pick(["FUNCTION_ERROR", "FUNCTION_TIMEOUT", "WORKER_UNREACHABLE"]) }));
    default:
      return encoder.encode(`${randomString()}${JSON.stringify(randomValue(0))}`);
  }
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  undefined,
  "text/plain",
  "application/x-www-form-urlencoded",
  "application/json; charset=utf-16",
  "application/problem+json",
  "image/png",
  ";;;",
  "application/json; charset",
];

const PATHS = [
  "/gpu_worker/run_sync",
  "/gpu_worker/runsync",
  "/multi/first/run_sync",
  "/lb_worker/process",
  "/lb_worker/health",
  "/lb_worker/items/1",
  "/lb_worker/items/%F0%9F%92%A5",
  "/lb_worker/items/%ZZ",
  "/lb_worker/purge",
  "/tools/local/echo",
  "/",
  "/ping",
  "/openapi.json",
  "/nope/%00/x",
  "//gpu_worker//run_sync",
  "/__flash/docs/../../etc/passwd",
];

const VALID: readonly (readonly [string, string])[] = [
  ["POST", "/gpu_worker/run_sync"],
  ["POST", "/gpu_worker/runsync"],
  ["POST", "/multi/first/run_sync"],
  ["POST", "/lb_worker/process"],
  ["PUT", "/lb_worker/items/1"],
  ["PATCH", "/lb_worker/items/2"],
  ["DELETE", "/lb_worker/purge"],
  ["POST", "/tools/local/echo"],
];

const INVOKER_CODES = new Set(["FUNCTION_ERROR", "FUNCTION_TIMEOUT", "WORKER_UNREACHABLE"]);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ bodyLimitBytes: LIMIT });
  for (const name of ["gpuHello", "first", "processItem", "purge", "localEcho", "getItem", "health"]) {
    server.invoker.behaviours.set(name, async (_entry, input) => {
      const fail = typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>).fail : undefined;
      if (typeof fail === "string" && INVOKER_CODES.has(fail)) throw new AppError(fail as "FUNCTION_ERROR", "scripted failure");
      return { output: input };
    });
  }
});
afterAll(async () => {
  await server.close();
});

describe(`random requests (seed ${SEED})`, () => {
  it(`answers ${COUNT} random requests with JSON and no server-made 5xx`, async () => {
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    const one = async (i: number): Promise<void> => {
      // Half the requests aim at a real route so bodies reach the parser and the invoker.
      const [method, path] =
        random() < 0.5 ? pick(VALID) : [pick(["POST", "POST", "PUT", "PATCH", "DELETE", "GET", "HEAD", "OPTIONS"]), pick(PATHS)];
      const body = method === "GET" || method === "HEAD" ? undefined : randomBody();
      const type = pick(CONTENT_TYPES);
      const headers: Record<string, string> = type ? { "content-type": type } : {};
      const label = `#${i} ${method} ${path} ${type ?? "(no type)"} ${body?.length ?? 0} bytes`;
      let res: Response;
      try {
        res = await server.fetch(path, { method, headers, ...(body ? { body } : {}) });
      } catch (err) {
        // A body far over the limit may still be uploading when the server
        // answers 413 and closes; the client may then see a reset instead.
        if ((body?.length ?? 0) > LIMIT) return;
        problems.push(`${label}: request failed: ${String(err)}`);
        return;
      }
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (method === "HEAD" || res.status === 204) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        problems.push(`${label}: ${res.status} with a non-JSON body: ${text.slice(0, 80)}`);
        return;
      }
      if (res.status >= 400) {
        const error = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
        if (typeof error?.code !== "string" || typeof error.message !== "string") problems.push(`${label}: ${res.status} without the error shape`);
        if (res.status >= 500 && !INVOKER_CODES.has(String(error?.code))) problems.push(`${label}: ${res.status} ${String(error?.code)}`);
      }
    };

    for (let i = 0; i < COUNT; i += 20) {
      await Promise.all(Array.from({ length: Math.min(20, COUNT - i) }, (_, k) => one(i + k)));
    }
    expect(problems, `seed ${SEED}; statuses ${JSON.stringify([...statuses])}`).toEqual([]);
    expect(server.logger.lines.filter((l) => l.startsWith("INTERNAL") || l.startsWith("Internal error"))).toEqual([]);
    // still serving
    expect((await server.fetch("/ping")).status).toBe(200);
    expect((await server.post("/gpu_worker/run_sync", { input: "after" })).body).toMatchObject({ output: "after" });
  });
});
