/**
 * Issue acceptance: hot reload without restarting the process — changed
 * code served on the next request, a syntax error keeps the old routes and
 * names file and line, fixing it recovers, adding and removing functions
 * adds and removes routes; and no request fails across 20 reloads. A real
 * session (watcher, discovery, emulator, workers) in this process, waited on
 * through its events; dev.hello.test.ts checks the reload line the CLI prints.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcessSession } from "../helpers/dev-session.js";
import type { InProcessSession } from "../helpers/dev-session.js";

let dir: string;
let dev: InProcessSession;

const source = (value: string, extra = ""): string => `import { remote, CpuLiveServerless } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "reload-worker", workersMax: 2 });
export const answer = remote(cpu, async () => ({ value: ${JSON.stringify(value)} }));
${extra}`;

async function call(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(dev.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Writes a file and waits for the reload that covers it to finish. */
async function edit(file: string, text: string): Promise<void> {
  const reloaded = dev.next("reloadFinished", (e) => e.paths.includes(file));
  await writeFile(join(dir, file), text);
  expect(await reloaded).toMatchObject({ ok: true });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-reload-"));
  await writeFile(join(dir, "worker.ts"), source("one"));
  dev = await startInProcessSession(dir);
});

afterAll(async () => {
  await dev?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("hot reload", () => {
  it("serves a changed return value on the next request, with the same server", async () => {
    expect((await call("/worker/run_sync")).body).toMatchObject({ output: { value: "one" } });
    await edit("worker.ts", source("two"));
    expect((await call("/worker/run_sync")).body).toMatchObject({ output: { value: "two" } });
    // Reloaded, not restarted: the server and the backend are the ones the session started with.
    expect(dev.all("ready")).toHaveLength(1);
    expect(dev.all("backendSwapped")).toEqual([]);
  });

  it("keeps serving the last good code on a syntax error, names file and line, and recovers", async () => {
    const reported = dev.next("discovered", (e) => e.phase === "reload" && e.issues.length > 0);
    await writeFile(join(dir, "worker.ts"), source("three") + "\nexport const broken = (;\n");
    const { issues } = await reported;
    expect(issues).toEqual([expect.objectContaining({ code: "FUNCTION_LOAD_FAILED", file: "worker.ts", line: 5, column: expect.any(Number) })]);
    // The reload itself succeeded: the file's last good version keeps its route.
    expect(dev.all("reloadFinished").at(-1)).toMatchObject({ ok: true, routes: 1, added: [], removed: [] });
    const during = await call("/worker/run_sync");
    expect(during.status).toBe(200);
    expect(during.body).toMatchObject({ output: { value: "two" } });
    await edit("worker.ts", source("four"));
    expect((await call("/worker/run_sync")).body).toMatchObject({ output: { value: "four" } });
  });

  it("adds and removes routes as functions are added and removed", async () => {
    await edit("worker.ts", source("five", `export const extra = remote(cpu, async () => ({ extra: true }));\n`));
    // One QB function became two: the file's route moved to per-export routes.
    expect(dev.all("routesChanged").at(-1)).toMatchObject({
      added: ["POST /worker/answer/run_sync", "POST /worker/extra/run_sync"],
      removed: ["POST /worker/run_sync"],
    });
    // Two QB functions in one file: per-export routes.
    expect((await call("/worker/extra/run_sync")).body).toMatchObject({ output: { extra: true } });
    expect((await call("/worker/answer/run_sync")).body).toMatchObject({ output: { value: "five" } });
    await edit("worker.ts", source("six"));
    expect(dev.all("routesChanged").at(-1)).toMatchObject({ added: ["POST /worker/run_sync"], removed: ["POST /worker/answer/run_sync", "POST /worker/extra/run_sync"] });
    expect((await call("/worker/extra/run_sync")).status).toBe(404);
    expect((await call("/worker/run_sync")).body).toMatchObject({ output: { value: "six" } });

    await edit("other.ts", `import { remote, CpuLiveServerless } from "flash-ts";
const c = new CpuLiveServerless({ name: "other-worker" });
export const hi = remote(c, async (input: { n: number }) => ({ doubled: input.n * 2 }));
`);
    expect(dev.all("routesChanged").at(-1)).toMatchObject({ added: ["POST /other/run_sync"], removed: [] });
    const res = await fetch(dev.url + "/other/run_sync", { method: "POST", body: JSON.stringify({ input: { n: 21 } }) });
    expect(await res.json()).toMatchObject({ output: { doubled: 42 } });
  });

  it("fails no request across 20 reloads under steady traffic", async () => {
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const client = async (): Promise<void> => {
      while (running) {
        try {
          const res = await call("/worker/run_sync");
          if (res.status === 200 && res.body.status === "COMPLETED") ok++;
          else failures.push(`${res.status} ${JSON.stringify(res.body)}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    for (let i = 0; i < 20; i++) await edit("worker.ts", source(`v${i}`));
    running = false;
    await Promise.all(clients);
    expect(failures, dev.console()).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect((await call("/worker/run_sync")).body).toMatchObject({ output: { value: "v19" } });
  });
});
