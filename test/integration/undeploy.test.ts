/**
 * `flash undeploy` against a stand-in Runpod (a real `flash emulator
 * --api-key` process) holding two projects' endpoints of the same names and
 * one made by hand: names, --stale and --all delete this project's only and
 * update .runpod/resources.json; the other project's endpoints and the
 * hand-made one are never touched, except by id with --force. Without a
 * terminal it needs --yes. Slow deletes show progress.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Endpoint } from "../../src/runpod/wire-types.js";
import { removeProject } from "../helpers/dev-process.js";
import { provisionedProject, runCli, startStandInRunpod } from "../helpers/stand-in-runpod.js";
import type { StandInRunpod } from "../helpers/stand-in-runpod.js";

const KEY = "rpa_UNDEPLOY_TEST_0123456789abcdef";
let runpod: StandInRunpod;
let project: string;
let other: string;
let handMade: Endpoint;
let otherIds: string[];

async function projectId(dir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, ".runpod", "project.json"), "utf8")) as { id: string }).id;
}

/** Names of `dir`'s endpoints on the stand-in, and of its cache entries. */
async function state(dir: string): Promise<{ provider: string[]; cache: string[] }> {
  const id = await projectId(dir);
  const provider = (await runpod.listEndpoints()).filter((e) => e.env?.FLASH_PROJECT_ID === id).map((e) => e.name).sort();
  const file = JSON.parse(await readFile(join(dir, ".runpod", "resources.json"), "utf8")) as { endpoints: Record<string, { name: string; backend: string }> };
  const cache = Object.values(file.endpoints).filter((e) => e.backend === "runpod").map((e) => e.name).sort();
  return { provider, cache };
}

const undeploy = (args: string[], cwd = project) => runCli(["undeploy", ...args], { cwd, env: runpod.env });

beforeAll(async () => {
  runpod = await startStandInRunpod(KEY);
  [project, other] = await Promise.all([provisionedProject(runpod), provisionedProject(runpod)]);
  handMade = await runpod.createEndpoint({ name: "live-cpu-worker" }); // made by hand: no project marker
  const otherId = await projectId(other);
  otherIds = (await runpod.listEndpoints()).filter((e) => e.env?.FLASH_PROJECT_ID === otherId).map((e) => e.id);
  expect(otherIds).toHaveLength(4);
});

afterAll(async () => {
  await runpod?.stop();
  for (const dir of [project, other]) if (dir) await removeProject(dir);
});

/** The other project's endpoints and the hand-made one, all still there. */
async function othersUntouched(): Promise<void> {
  const ids = new Set((await runpod.listEndpoints()).map((e) => e.id));
  for (const id of [...otherIds, handMade.id]) expect(ids.has(id), id).toBe(true);
}

describe("flash undeploy", () => {
  it("refuses without a terminal and without --yes, deleting nothing", async () => {
    const result = await undeploy(["cpu-worker"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/To delete on Runpod \(\S+\), 1 endpoint\(s\):\n\s+live-cpu-worker\s+\S+\n/);
    expect(result.stderr).toContain("nobody can answer here (not a terminal); nothing was deleted");
    expect(result.stderr).toContain("Pass --yes");
    expect((await state(project)).provider).toHaveLength(4);
  });

  it("deletes one endpoint by name, with or without live-, from the provider and the cache; the same name of another project stays", async () => {
    const result = await undeploy(["cpu-worker", "--yes"]);
    expect(result.stderr).toMatch(/deleting live-cpu-worker \(\S+\)…\n\s+✓ deleted live-cpu-worker \(\S+\) in \d+/);
    expect(result.code, result.stderr).toBe(0);
    expect(await state(project)).toEqual({ provider: ["live-gpu-worker", "live-lb-worker", "live-pipeline"], cache: ["live-gpu-worker", "live-lb-worker", "live-pipeline"] });
    await othersUntouched();
  });

  it("never deletes another project's endpoint or a hand-made one by name; by id only with --force", async () => {
    const byName = await undeploy(["live-cpu-worker", "--yes"]);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toMatch(/nothing was deleted: .*live-cpu-worker \(\S+\).* not this project's/);
    const byId = await undeploy([otherIds[0]!, "--yes"]);
    expect(byId.code).toBe(1);
    expect(byId.stderr).toMatch(/it belongs to project \S+\); add --force to delete it by its id anyway/);
    const handByIdNoForce = await undeploy([handMade.id, "--yes"]);
    expect(handByIdNoForce.code).toBe(1);
    expect(handByIdNoForce.stderr).toContain("it has no FLASH_PROJECT_ID marker");
    // --force applies to ids only: a name stays refused.
    expect((await undeploy(["live-cpu-worker", "--force", "--yes"])).code).toBe(1);
    await othersUntouched();

    const forced = await undeploy([handMade.id, "--force", "--yes"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(`live-cpu-worker  ${handMade.id}  (not this project's: no project marker; --force)`);
    expect((await runpod.listEndpoints()).map((e) => e.id)).not.toContain(handMade.id);
    handMade = await runpod.createEndpoint({ name: "hand-made" });
  });

  it("an unknown name deletes nothing, even beside a known one", async () => {
    const result = await undeploy(["gpu-worker", "no-such-endpoint", "--yes"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('nothing was deleted: no endpoint named or with the id "no-such-endpoint"');
    expect((await state(project)).provider).toContain("live-gpu-worker");
  });

  it("--stale deletes what left the code and drops cache entries of endpoints already gone, showing progress on a slow delete", async () => {
    await rm(join(project, "lb_worker.ts"));
    // Deleted elsewhere (the console): only the cache remembers it.
    const gpu = (await runpod.listEndpoints()).find((e) => e.name === "live-gpu-worker" && e.env?.FLASH_PROJECT_ID !== undefined && !otherIds.includes(e.id))!;
    const headers = { authorization: `Bearer ${KEY}` };
    expect((await fetch(`${runpod.url}/v2/serverless/${gpu.id}`, { method: "DELETE", headers })).status).toBe(204);
    // A slow delete on the provider.
    const fault = await fetch(`${runpod.url}/__emulator/faults`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ route: "^DELETE /v2/serverless/", latencyMs: 3_500, times: 1 }),
    });
    expect(fault.status).toBeLessThan(300);

    const result = await undeploy(["--stale", "--yes"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/deleting live-lb-worker \(\S+\)…\n\s+… still deleting live-lb-worker \(3\.\d s\)\n\s+✓ deleted live-lb-worker \(\S+\) in 3\.\d s/);
    expect(result.stderr).toContain(`dropped live-gpu-worker (${gpu.id}) from the cache: it no longer exists on Runpod`);
    expect(await state(project)).toEqual({ provider: ["live-pipeline"], cache: ["live-pipeline"] });
    await othersUntouched();
  });

  it("--stale refuses when the code does not load", async () => {
    await writeFile(join(project, "broken.ts"), 'import { remote } from "flash-ts";\nexport const x = remote(\n');
    const result = await undeploy(["--stale", "--yes"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--stale needs the project's code to load");
    await rm(join(project, "broken.ts"));
  });

  it("--all deletes every endpoint of this project and nothing else", async () => {
    const result = await undeploy(["--all", "--yes"]);
    expect(result.code, result.stderr).toBe(0);
    expect(await state(project)).toEqual({ provider: [], cache: [] });
    await othersUntouched();
    expect(await state(other)).toEqual({
      provider: ["live-cpu-worker", "live-gpu-worker", "live-lb-worker", "live-pipeline"],
      cache: ["live-cpu-worker", "live-gpu-worker", "live-lb-worker", "live-pipeline"],
    });
    const again = await undeploy(["--all", "--yes"]);
    expect(again.stderr).toContain("Nothing to remove.");
    expect(again.code).toBe(0);
  });
});
