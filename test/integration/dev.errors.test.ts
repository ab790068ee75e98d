/**
 * Issue acceptance: bad input gets the documented JSON errors, random bodies
 * never break the server, a throwing function gives 500 with its message and
 * a stack pointing at the user's file, and a function that never returns is
 * cut at its executionTimeoutMs with 504. Real dev server, emulator, workers.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import type { DevProcess } from "../helpers/dev-process.js";

let dir: string;
let dev: DevProcess;

const files: Record<string, string> = {
  "echo.ts": `import { remote, CpuLiveServerless } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "echo", workersMax: 2 });
export const echo = remote(cpu, async (input: unknown) => ({ got: input }));
`,
  "items.ts": `import { remote, CpuLiveLoadBalancer } from "flash-ts";
const api = new CpuLiveLoadBalancer({ name: "items" });
export const put = remote(api, { method: "POST", path: "/items/:id" }, async (body: Record<string, unknown>) => ({ id: body.id, keys: Object.keys(body).length }));
`,
  "boom.ts": `import { remote, CpuLiveServerless } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "boom" });

function explode(why: string): never {
  throw new TypeError("boom: " + why);
}
export const fail = remote(cpu, async (input: { why?: string }) => explode(input?.why ?? "no reason"));
`,
  "slow.ts": `import { remote, CpuLiveServerless, CpuLiveLoadBalancer } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "slow", executionTimeoutMs: 1500 });
const api = new CpuLiveLoadBalancer({ name: "slow-lb", executionTimeoutMs: 1500 });
export const never = remote(cpu, () => new Promise(() => {}));
export const neverLb = remote(api, { method: "GET", path: "/never" }, () => new Promise(() => {}));
`,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-errors-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  dev = await startDevProcess(dir);
});

afterAll(async () => {
  await dev?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function send(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = { "content-type": "application/json" }) {
  const res = await fetch(dev.url + path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

describe("bad input", () => {
  it.each([
    ["invalid JSON", "POST", "/echo/run_sync", "{nope", 400, "INVALID_JSON"],
    ["a non-object QB body", "POST", "/echo/run_sync", "[1,2]", 422, "INVALID_BODY"],
    ["a non-object LB body", "POST", "/items/items/7", '"text"', 422, "INVALID_BODY"],
    ["an unknown route", "POST", "/nope/run_sync", "{}", 404, "ROUTE_NOT_FOUND"],
    ["a wrong method", "GET", "/echo/run_sync", undefined, 405, "METHOD_NOT_ALLOWED"],
  ])("%s", async (_what, method, path, body, status, code) => {
    const res = await send(method as string, path as string, body as string | undefined);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ error: { code, message: expect.any(String) } });
  });

  it("an oversized body → 413 BODY_TOO_LARGE, and the server keeps serving", async () => {
    // A raw socket: declare 11 MB, send a little, read the answer (a fetch
    // client may see the reset that follows the 413 instead of the 413 itself).
    const { connect } = await import("node:net");
    const url = new URL(dev.url);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = "";
      const socket = connect({ host: "127.0.0.1", port: Number(url.port) }, () => {
        socket.write(`POST /echo/run_sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${11 * 1024 * 1024}\r\n\r\n{"input":"`);
      });
      socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", (error) => (text ? resolve(text) : reject(error)));
      socket.setTimeout(10_000, () => socket.destroy());
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"code":"BODY_TOO_LARGE"');
    expect((await send("POST", "/echo/run_sync", '{"input":1}')).status).toBe(200);
  });

  it("1,000 random bodies to QB and LB routes: no 5xx but function errors, and the server keeps serving", async () => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]!;
    const randomJson = (depth = 0): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3) return pick([null, true, false, 0, -1.5, 1e308, "", "é😀", "\u0000", "a".repeat(Math.floor(rand() * 50))]);
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => randomJson(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [pick(["input", "id", "__proto__", "constructor", `k${i}`]), randomJson(depth + 1)]));
    };
    const randomBody = (): string | Buffer => {
      const r = rand();
      if (r < 0.5) return JSON.stringify(randomJson());
      if (r < 0.7) return Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      if (r < 0.85) return "[".repeat(Math.floor(rand() * 2000));
      return JSON.stringify(randomJson()).slice(0, Math.floor(rand() * 20));
    };
    const unexpected: string[] = [];
    const statuses = new Map<number, number>();
    const one = async (i: number): Promise<void> => {
      const path = i % 2 === 0 ? "/echo/run_sync" : `/items/items/${i}`;
      const res = await send("POST", path, randomBody(), rand() < 0.8 ? { "content-type": "application/json" } : {});
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const code = (res.json?.error as { code?: string } | undefined)?.code;
      if (res.status >= 500 && code !== "FUNCTION_ERROR") unexpected.push(`${path} → ${res.status} ${res.text.slice(0, 200)}`);
      if (res.status >= 400 && !code) unexpected.push(`${path} → ${res.status} without the error shape: ${res.text.slice(0, 200)}`);
    };
    for (let i = 0; i < 1000; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => one(i + j)));
    expect(unexpected, JSON.stringify([...statuses])).toEqual([]);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
    expect((await send("POST", "/echo/run_sync", '{"input":{"still":"serving"}}')).json).toMatchObject({ output: { got: { still: "serving" } } });
  });
});

describe("function failures", () => {
  it("a function that throws → 500 FUNCTION_ERROR with its message and a stack in the user's file", async () => {
    const res = await send("POST", "/boom/run_sync", '{"input":{"why":"bad day"}}');
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({
      error: { code: "FUNCTION_ERROR", message: "boom: bad day", name: "TypeError", endpoint: "live-boom", stack: expect.stringMatching(/boom\.ts:5:\d+/) },
    });
    const stack = (res.json!.error as { stack: string }).stack;
    expect(stack).toMatch(/boom\.ts:7:\d+/);
    expect(stack).not.toMatch(/\.mjs|node_modules\/\.cache|flash-ts-worker/);
  });

  it("a QB function that never returns is cut at its executionTimeoutMs with 504", async () => {
    const started = Date.now();
    const res = await send("POST", "/slow/run_sync", '{"input":{}}');
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ error: { code: "FUNCTION_TIMEOUT", endpoint: "live-slow" } });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it("an LB function that never returns is cut at its executionTimeoutMs with 504", async () => {
    const res = await send("GET", "/slow/never");
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ error: { code: "FUNCTION_TIMEOUT" } });
  });
});
