/**
 * Issue acceptance (Endpoint in TypeScript idiom): a copy of
 * examples/endpoints served by `flash dev --no-container` in local mode, with
 * real emulator and worker processes: queue-based functions (a function, a
 * one-expression function, a decorated class) and load-balanced routes are
 * served, and an edit is served after the reload.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, removeProject, REPO_ROOT, startDevProcess } from "../helpers/dev-process.js";
import type { DevProcess } from "../helpers/dev-process.js";

let dir: string;
let dev: DevProcess;

beforeAll(async () => {
  dir = await copyProject(join(REPO_ROOT, "examples", "endpoints"));
  dev = await startDevProcess(dir);
});

afterAll(async () => {
  await dev?.stop();
  await removeProject(dir);
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(dev.url + path, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Rewrites a project file and waits for the reload it causes. */
async function edit(file: string, change: (text: string) => string): Promise<void> {
  const from = dev.output().length;
  const path = join(dir, file);
  await writeFile(path, change(await readFile(path, "utf8")));
  await dev.waitForOutput(/Reloaded \d+ route\(s\) in \d+ ms/, 30_000, from);
}

describe("flash dev serving examples/endpoints", () => {
  it("lists the Endpoint functions and routes with their endpoints", () => {
    const out = dev.output();
    expect(out).toMatch(/POST\s+\/gpu_worker\/run_sync\s+live-hello-gpu\s+QB/);
    expect(out).toMatch(/POST\s+\/cpu_worker\/run_sync\s+live-cpuReverse\s+QB/);
    expect(out).toMatch(/POST\s+\/classifier\/classify\/run_sync\s+live-classifier\s+QB/);
    expect(out).toMatch(/POST\s+\/api\/compute\s+live-ep-api\s+LB/);
    expect(out).toMatch(/GET\s+\/api\/items\/:id\s+live-ep-api\s+LB/);
  });

  it("runs queue-based Endpoint functions and a decorated class's methods", async () => {
    const gpu = await call("POST", "/gpu_worker/run_sync", { input: { message: "hi" } });
    expect(gpu.status, JSON.stringify(gpu.body)).toBe(200);
    expect(gpu.body).toMatchObject({ status: "COMPLETED", output: { message: "hi", node: expect.stringMatching(/^v\d+/) } });
    expect((await call("POST", "/cpu_worker/run_sync", { input: { text: "Flash" } })).body).toMatchObject({ output: { reversed: "hsalF", length: 5 } });
    expect((await call("POST", "/classifier/classify/run_sync", { input: "what a great day" })).body).toMatchObject({ output: { label: "positive", score: 1 } });
    expect((await call("POST", "/classifier/keywords/run_sync", { input: "awful and great" })).body).toMatchObject({ output: ["awful", "great"] });
  });

  it("serves the load-balanced routes, path parameters included", async () => {
    expect((await call("POST", "/api/compute", { numbers: [1, 2, 3, 6] })).body).toEqual({ sum: 12, mean: 3 });
    expect((await call("GET", "/api/items/42")).body).toEqual({ id: "42", name: "item 42" });
    expect((await call("GET", "/api/health")).body).toEqual({ status: "healthy" });
  });

  it("reloads an edited Endpoint route and an edited Endpoint function", async () => {
    await edit("api.ts", (text) => text.replace("name: `item ${input.id}`", "name: `thing ${input.id}`"));
    expect((await call("GET", "/api/items/7")).body).toEqual({ id: "7", name: "thing 7" });
    await edit("cpu_worker.ts", (text) => text.replace("length: input.text.length", "length: input.text.length * 10"));
    expect((await call("POST", "/cpu_worker/run_sync", { input: { text: "abc" } })).body).toMatchObject({ output: { reversed: "cba", length: 30 } });
  });
});
