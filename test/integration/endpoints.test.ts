/**
 * `flash endpoints` against a stand-in Runpod (a real `flash emulator
 * --api-key` process): a project provisioned by `flash dev --auto-provision`
 * lists its own endpoints only (not a second project's on the same account),
 * with workers, queue, what bills while idle and whether each config is still
 * in the code, as a table and as JSON.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EndpointRow } from "../../src/provision/endpoint-report.js";
import { removeProject } from "../helpers/dev-process.js";
import { provisionedProject, runCli, startStandInRunpod } from "../helpers/stand-in-runpod.js";
import type { StandInRunpod } from "../helpers/stand-in-runpod.js";
import { waitFor } from "../helpers/wait.js";

const KEY = "rpa_ENDPOINTS_TEST_0123456789abcdef";
let runpod: StandInRunpod;
let project: string;
let other: string;

interface Listing {
  projectId: string | null;
  specsKnown: boolean;
  endpoints: EndpointRow[];
}

async function listing(cwd: string): Promise<Listing> {
  const result = await runCli(["endpoints", "--json"], { cwd, env: runpod.env });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Listing;
}

beforeAll(async () => {
  runpod = await startStandInRunpod(KEY);
  [project, other] = await Promise.all([provisionedProject(runpod), provisionedProject(runpod)]);
});

afterAll(async () => {
  await runpod?.stop();
  for (const dir of [project, other]) if (dir) await removeProject(dir);
});

describe("flash endpoints", () => {
  it("lists this project's endpoints only, with type, compute, workers, queue and billing", async () => {
    const all = await runpod.listEndpoints();
    expect(all).toHaveLength(8); // two projects, four endpoints each, the same names
    const mine = await waitFor("the warm LB worker to be idle", async () => {
      const l = await listing(project);
      return l.endpoints.find((r) => r.name === "live-lb-worker")?.workers?.idle === 1 ? l : undefined;
    }, 30_000);
    expect(mine.specsKnown).toBe(true);
    expect(mine.endpoints.map((r) => r.name)).toEqual(["live-cpu-worker", "live-gpu-worker", "live-lb-worker", "live-pipeline"]);
    const ids = new Set(all.filter((e) => e.env?.FLASH_PROJECT_ID === mine.projectId).map((e) => e.id));
    expect(new Set(mine.endpoints.map((r) => r.id))).toEqual(ids);
    const byName = new Map(mine.endpoints.map((r) => [r.name, r]));
    expect(byName.get("live-gpu-worker")).toMatchObject({ type: "QB", compute: "GPU ADA_24,AMPERE_24 x1", workersMin: 0, workersMax: 3, billsWhileIdle: false, inCode: "yes", onProvider: true, cached: true });
    expect(byName.get("live-cpu-worker")).toMatchObject({ type: "QB", compute: "CPU cpu3g-2-8", workersMin: 0, billsWhileIdle: false, jobs: { inQueue: 0, inProgress: 0 } });
    expect(byName.get("live-lb-worker")).toMatchObject({ type: "LB", workersMin: 1, billsWhileIdle: true, workers: { idle: 1, running: 0 } });
  });

  it("shows jobs waiting in the queue", async () => {
    const cpu = (await listing(project)).endpoints.find((r) => r.name === "live-cpu-worker")!;
    // No worker may start: the job waits in the queue.
    const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
    expect((await fetch(`${runpod.url}/v2/serverless/${cpu.id}`, { method: "PATCH", headers, body: JSON.stringify({ workers: { min: 0, max: 0 } }) })).status).toBe(200);
    expect((await fetch(`${runpod.url}/v2/${cpu.id}/run`, { method: "POST", headers, body: JSON.stringify({ input: {} }) })).status).toBe(200);
    const after = (await listing(project)).endpoints.find((r) => r.name === "live-cpu-worker")!;
    expect(after).toMatchObject({ workersMax: 0, jobs: { inQueue: 1 } });
  });

  it("says which configs changed or left the code, in a table people read", async () => {
    const source = await readFile(join(project, "cpu_worker.ts"), "utf8");
    await writeFile(join(project, "cpu_worker.ts"), source.replace("instanceIds:", "workersMax: 5, instanceIds:"));
    await rm(join(project, "lb_worker.ts"));
    const rows = new Map((await listing(project)).endpoints.map((r) => [r.name, r.inCode]));
    expect(Object.fromEntries(rows)).toEqual({ "live-cpu-worker": "changed", "live-gpu-worker": "yes", "live-lb-worker": "no", "live-pipeline": "yes" });

    const table = await runCli(["endpoints"], { cwd: project, env: runpod.env });
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split("\n");
    expect(lines[0]).toMatch(/^NAME\s+ID\s+TYPE\s+COMPUTE\s+MIN\/MAX\s+RUNNING\s+IDLE\s+QUEUE\s+BILLS IDLE\s+IN CODE$/);
    expect(lines.find((l) => l.startsWith("live-lb-worker"))).toMatch(/\bLB\s+CPU \S+\s+1\/\d+\s+\d+\s+\d+\s+\d+\s+yes\s+no \(stale\)$/);
    expect(lines.find((l) => l.startsWith("live-cpu-worker"))).toMatch(/\bQB\s+CPU cpu3g-2-8\s+0\/0\s+0\s+0\s+1\s+no\s+changed$/);
    expect(table.stdout).toContain("Bills while idle: live-lb-worker (workersMin 1).");
    expect(table.stdout).toContain("Remove them with: flash undeploy --stale");
    expect(table.stdout + table.stderr).not.toContain(KEY);
  });

  it("a key Runpod refuses is named by where it came from", async () => {
    const result = await runCli(["endpoints"], { cwd: other, env: { ...runpod.env, RUNPOD_API_KEY: "rpa_REFUSED_KEY_0000" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`✖ Runpod refused RUNPOD_API_KEY (${runpod.url})`);
    expect(result.stderr).not.toContain("rpa_REFUSED_KEY_0000");
  });

  it("without a key it says how to give one", async () => {
    await writeFile(join(other, ".env"), "");
    const result = await runCli(["endpoints"], { cwd: other, env: runpod.env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/flash endpoints needs a Runpod API key: no RUNPOD_API_KEY and no credentials in .*\n\s+Run flash login/);
  });
});
