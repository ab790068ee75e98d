/**
 * Issue acceptance: a copy of examples/hello served by `flash dev
 * --no-container` in local mode, with real emulator and worker processes.
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, removeProject, REPO_ROOT, startDevProcess } from "../helpers/dev-process.js";
import { isAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";

let dir: string;
let dev: DevProcess;

beforeAll(async () => {
  dir = await copyProject(join(REPO_ROOT, "examples", "hello"));
  dev = await startDevProcess(dir);
});

afterAll(async () => {
  await dev?.stop();
  await removeProject(dir);
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(dev.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("flash dev serving examples/hello", () => {
  it("prints the route table with method, path, endpoint and type", () => {
    const out = dev.output();
    expect(out).toMatch(/POST\s+\/gpu_worker\/run_sync\s+live-gpu-worker\s+QB/);
    expect(out).toMatch(/POST\s+\/cpu_worker\/run_sync\s+live-cpu-worker\s+QB/);
    expect(out).toMatch(/POST\s+\/lb_worker\/process\s+live-lb-worker\s+LB/);
    expect(out).toMatch(/GET\s+\/lb_worker\/health\s+live-lb-worker\s+LB/);
    expect(out).toMatch(/POST\s+\/pipeline\/greet\s+live-pipeline\s+LB/);
  });

  it("GET / is the health body", async () => {
    const res = await fetch(dev.url + "/");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: "Flash Dev Server", docs: "/docs" });
  });

  it("runs the GPU QB function through the job API", async () => {
    const res = await post("/gpu_worker/run_sync", { input: { message: "hi" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "COMPLETED", output: { message: "hi", node: expect.stringMatching(/^v\d+/) } });
    expect(res.body.id).toEqual(expect.any(String));
    // The function's console output is shown, prefixed with the endpoint name.
    await dev.waitForOutput(/\[live-gpu-worker\] gpuHello called with \{"message":"hi"\}/);
    await dev.waitForOutput(/POST \/gpu_worker\/run_sync → live-gpu-worker 200 \d+ ms/);
  });

  it("serves the /runsync alias, passing the whole body when there is no input key", async () => {
    const res = await post("/cpu_worker/runsync", { message: "whole body" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "COMPLETED", output: { message: "whole body" } });
  });

  it("serves the LB routes", async () => {
    const processed = await post("/lb_worker/process", { item: 42 });
    expect(processed.status).toBe(200);
    expect(processed.body).toMatchObject({ status: "success", echo: { item: 42 } });
    const health = await fetch(dev.url + "/lb_worker/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "healthy" });
  });

  it("serves the pipeline: an LB route calling two QB functions on their endpoints", async () => {
    const res = await post("/pipeline/greet", { name: "Ada" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ result: "HELLO ADA", steps: [{ message: "hello Ada" }, { message: "HELLO ADA" }] });
  });

  it("serves /docs and /openapi.json", async () => {
    const docs = await fetch(dev.url + "/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toMatch(/text\/html/);
    const spec = (await (await fetch(dev.url + "/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(["/gpu_worker/run_sync", "/lb_worker/process", "/pipeline/greet"]));
  });

  it("prints a reload line naming the changed file, and the routes added and removed", async () => {
    let from = dev.output().length;
    await writeFile(
      join(dir, "extra.ts"),
      `import { remote, CpuLiveServerless } from "flash-ts";\nexport const extra = remote(new CpuLiveServerless({ name: "extra" }), async () => 1);\n`,
    );
    await dev.waitForOutput(/Reloaded 6 route\(s\) in \d+ ms \(extra\.ts changed\)\n {2}\+ POST \/extra\/run_sync\n/, 30_000, from);
    from = dev.output().length;
    await rm(join(dir, "extra.ts"));
    await dev.waitForOutput(/Reloaded 5 route\(s\) in \d+ ms \(extra\.ts changed\)\n {2}- POST \/extra\/run_sync\n/, 30_000, from);
  });

  it("stops cleanly on SIGINT: exit code 0 and no worker processes left", async () => {
    const tree = dev.processTree();
    expect(tree.length).toBeGreaterThan(1); // the CLI and its workers
    const code = await dev.stop("SIGINT", { reap: false });
    expect(code).toBe(0);
    await waitFor("every process of the session to exit", () => tree.every((pid) => !isAlive(pid)), 15_000);
  });
});
