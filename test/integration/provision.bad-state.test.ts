/**
 * Bad state files through the real CLI and the real emulator: with both
 * project.json and resources.json corrupted after a session created an
 * endpoint, the next session keeps both files aside, says so, recovers the
 * project id and the endpoint from the emulator by project marker, and creates
 * nothing; a newer version's resources.json is refused at start.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import { CLI } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";
import type { DevProcess } from "../helpers/dev-process.js";

let dir: string;
let dev: DevProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-bad-state-"));
  await writeFile(
    join(dir, "echo.ts"),
    `import { remote, CpuLiveServerless } from "flash-ts";
export const run = remote(new CpuLiveServerless({ name: "echo" }), async (input: { n?: number }) => ({ n: input?.n ?? 0 }));
`,
  );
});
afterEach(async () => {
  await dev?.stop();
  dev = undefined;
  await rm(dir, { recursive: true, force: true });
});

const state = (name: string): string => join(dir, ".runpod", name);

async function call(d: DevProcess, n: number): Promise<unknown> {
  const res = await fetch(`${d.url}/echo/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { n } }) });
  return res.json();
}

async function emulatorEndpointIds(): Promise<string[]> {
  const text = await readFile(state("emulator/emulator-state.json"), "utf8").catch(() => '{"endpoints":[]}');
  return (JSON.parse(text) as { endpoints: { endpoint: { id: string } }[] }).endpoints.map((e) => e.endpoint.id);
}

describe("bad files in .runpod/", () => {
  it("corrupt project.json and resources.json: kept aside, reported, the id and the endpoint recovered, nothing created", async () => {
    dev = await startDevProcess(dir);
    expect(await call(dev, 1)).toMatchObject({ output: { n: 1 } });
    const projectId = (JSON.parse(await readFile(state("project.json"), "utf8")) as { id: string }).id;
    let ids: string[] = [];
    await waitFor("the emulator to save its endpoint", async () => (ids = await emulatorEndpointIds()).length === 1);
    expect(await dev.stop()).toBe(0);

    await writeFile(state("project.json"), '{"id": ');
    await writeFile(state("resources.json"), "");
    dev = await startDevProcess(dir);
    const out = dev.output();
    expect(out).toMatch(/project\.json was not valid JSON .*; kept it as .*project\.json\.corrupt-\S+ and recovered the project id/);
    expect(out).toMatch(/resources\.json is empty; kept it as .*resources\.json\.corrupt-/);
    expect((JSON.parse(await readFile(state("project.json"), "utf8")) as { id: string }).id).toBe(projectId);
    expect(await call(dev, 2)).toMatchObject({ output: { n: 2 } });
    expect(dev.output()).not.toMatch(/Provisioned live-echo/);
    expect(await emulatorEndpointIds()).toEqual(ids);
    const cache = JSON.parse(await readFile(state("resources.json"), "utf8")) as { endpoints: Record<string, { id: string }> };
    expect(Object.values(cache.endpoints).map((e) => e.id)).toEqual(ids);
    const kept = (await readdir(join(dir, ".runpod"))).filter((n) => n.includes(".corrupt-")).map((n) => n.replace(/\.corrupt-.*/, "")).sort();
    expect(kept).toEqual(["project.json", "resources.json"]);
  });

  it("a newer version's resources.json: refused at start, naming both versions, and left as it is", async () => {
    await mkdir(join(dir, ".runpod"));
    const text = JSON.stringify({ version: 7, endpoints: {} });
    await writeFile(state("resources.json"), text);
    const env: NodeJS.ProcessEnv = { ...process.env, FLASH_CONTAINER: "0", NO_COLOR: "1" };
    delete env.RUNPOD_API_KEY;
    const child = spawn(process.execPath, [CLI, "dev", "--no-container", "--port", "0"], { cwd: dir, env });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    // A flash dev that starts instead of refusing is stopped, and the assertions below say why.
    const timer = setTimeout(() => child.kill("SIGINT"), 30_000);
    const code = await new Promise<number | null>((resolveExit) => child.on("exit", resolveExit));
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(output).toMatch(/resources\.json was written by a newer flash-ts \(cache version 7; this flash-ts reads version 1\)/);
    expect(output).not.toMatch(/Flash Dev Server/);
    expect(await readFile(state("resources.json"), "utf8")).toBe(text);
  });
});
