/**
 * One `.env` at the root of a repository serves a project in a subfolder:
 * `flash dev` finds it upward (never above the repository root), names it in
 * the banner, takes RUNPOD_API_KEY from it (a stand-in Runpod: a real
 * `flash emulator --api-key` process), and reloads when it is edited, although
 * it lies outside the project folder the watcher watches.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDevProcess } from "../helpers/dev-process.js";
import type { DevProcess } from "../helpers/dev-process.js";
import { startStandInRunpod } from "../helpers/stand-in-runpod.js";
import type { StandInRunpod } from "../helpers/stand-in-runpod.js";

const KEY = "rpa_ENV_UPWARD_0123456789abcdef";
let runpod: StandInRunpod;
let top: string;
let repo: string;
let project: string;
let dev: DevProcess | undefined;

beforeAll(async () => {
  runpod = await startStandInRunpod(KEY);
  top = await mkdtemp(join(tmpdir(), "flash-env-upward-"));
  repo = join(top, "repo");
  project = join(repo, "apps", "api");
  await mkdir(project, { recursive: true });
  await mkdir(join(repo, ".git"));
  // Above the repository root: never read.
  await writeFile(join(top, ".env"), "GREETING=from-above-the-repository\nRUNPOD_API_KEY=rpa_NEVER_USED_000000\n");
  await writeFile(
    join(project, "greet.ts"),
    `import { remote, CpuLiveServerless } from "flash-ts";
const cpu = new CpuLiveServerless({ name: "env-greet", env: { GREETING: process.env.GREETING ?? "unset" } });
export const greet = remote(cpu, async () => ({ greeting: process.env.GREETING ?? null }));
`,
  );
});

afterEach(async () => {
  await dev?.stop();
  dev = undefined;
});

afterAll(async () => {
  await runpod?.stop();
  await rm(top, { recursive: true, force: true });
});

async function greet(): Promise<unknown> {
  const res = await fetch(`${dev!.url}/greet/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return (body.output as { greeting: unknown }).greeting;
}

describe(".env found upward from the project", () => {
  it("stops at the repository root: a .env above it is not read", async () => {
    dev = await startDevProcess(project, [], runpod.env);
    expect(dev.output()).toContain("Env file: no .env found");
    expect(dev.output()).toMatch(/Backend: local emulator at \S+ — no RUNPOD_API_KEY/);
    expect(await greet()).toBe("unset");
  });

  it("uses the repository root's .env (its key too), names it, and reloads when it changes", async () => {
    await writeFile(join(repo, ".env"), `RUNPOD_API_KEY=${KEY}\nGREETING=hello\n`);
    dev = await startDevProcess(project, [], runpod.env);
    expect(dev.output()).toContain(`Env file: ${join(repo, ".env")}`);
    expect(dev.output()).toContain(`Backend: Runpod (${runpod.url}) — RUNPOD_API_KEY from ${join(repo, ".env")}`);
    expect(await greet()).toBe("hello");
    expect((await runpod.listEndpoints()).map((e) => e.name)).toContain("live-env-greet");

    const from = dev.output().length;
    await writeFile(join(repo, ".env"), `RUNPOD_API_KEY=${KEY}\nGREETING=bonjour\n`);
    await dev.waitForOutput(/\.env changed \(GREETING\)/, 20_000, from);
    await dev.waitForOutput(/Reloaded \d+ route/, 20_000, from);
    expect(await greet()).toBe("bonjour");
    expect(dev.output()).not.toContain(KEY);
  });
});
