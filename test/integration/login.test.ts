/**
 * `flash login` and the key it stores, through a stand-in Runpod (a real
 * `flash emulator --api-key` process): the key is checked, written to
 * ~/.runpod/config.toml in runpod-python's format with mode 0600, never
 * printed, and `flash dev` runs on Runpod with it when RUNPOD_API_KEY is not
 * set, saying why in its banner.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, copyProject, removeProject, startDevProcess } from "../helpers/dev-process.js";
import { runCli, startStandInRunpod } from "../helpers/stand-in-runpod.js";
import type { StandInRunpod } from "../helpers/stand-in-runpod.js";

const KEY = "rpa_LOGIN_TEST_0123456789abcdef";
let runpod: StandInRunpod;
let home: string;
let project: string;

beforeAll(async () => {
  runpod = await startStandInRunpod(KEY);
  home = await mkdtemp(join(tmpdir(), "flash-login-home-"));
  project = await copyProject(join(REPO_ROOT, "examples", "hello"));
});

afterAll(async () => {
  await runpod?.stop();
  await rm(home, { recursive: true, force: true });
  if (project) await removeProject(project);
});

/** HOME is the temp folder and no FLASH_CREDENTIALS_FILE: the real default path, ~/.runpod/config.toml. */
const userEnv = (): NodeJS.ProcessEnv => ({ HOME: home, FLASH_CREDENTIALS_FILE: "", ...runpod.env });

describe("flash login", () => {
  it("refuses a key Runpod does not accept, and saves nothing", async () => {
    const result = await runCli(["login"], { env: userEnv(), input: "rpa_WRONG_KEY_000000\n" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Runpod refused this API key .*nothing was saved/);
    expect(result.stderr).not.toContain("rpa_WRONG_KEY_000000");
    await expect(stat(join(home, ".runpod", "config.toml"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("stores a piped key in ~/.runpod/config.toml as runpod-python does, 0600 in a 0700 folder", async () => {
    const result = await runCli(["login"], { env: userEnv(), input: `${KEY}\n` });
    expect(result.stderr).toContain('✓ Saved the API key to ~/.runpod/config.toml (profile "default", mode 0600); Runpod accepted it.');
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(KEY);
    const path = join(home, ".runpod", "config.toml");
    expect(await readFile(path, "utf8")).toBe(`[default]\napi_key = "${KEY}"\n`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, ".runpod"))).mode & 0o777).toBe(0o700);
  });

  it("--no-verify saves without asking Runpod (here: nothing listens), keeping other profiles", async () => {
    const creds = join(home, "other", "config.toml");
    await mkdir(join(home, "other"));
    await writeFile(creds, '[work]\napi_key = "rpa_WORK_PROFILE_0000"\n');
    const result = await runCli(["login", "--no-verify"], { env: { FLASH_CREDENTIALS_FILE: creds, RUNPOD_API_BASE_URL: "http://127.0.0.1:9" }, input: "rpa_UNCHECKED_000000\n" });
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(creds, "utf8")).toBe('[default]\napi_key = "rpa_UNCHECKED_000000"\n\n[work]\napi_key = "rpa_WORK_PROFILE_0000"\n');
    const refused = await runCli(["login"], { env: { FLASH_CREDENTIALS_FILE: creds, RUNPOD_API_BASE_URL: "http://127.0.0.1:9" }, input: "rpa_SECOND_00000000\n" });
    expect(refused.code).toBe(2); // not the key's fault: Runpod could not be asked
    expect(refused.stderr).toMatch(/could not check the key with Runpod: .*nothing was saved\n\s+.*flash login --no-verify/);
    expect(await readFile(creds, "utf8")).toContain("rpa_UNCHECKED_000000");
  });

  it("flash dev uses the stored key when RUNPOD_API_KEY is not set, and says so", async () => {
    const dev = await startDevProcess(project, [], userEnv());
    try {
      expect(dev.output()).toContain(`Backend: Runpod (${runpod.url}) — key from ~/.runpod/config.toml (RUNPOD_API_KEY is not set)`);
      const res = await fetch(`${dev.url}/cpu_worker/run_sync`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { n: 2 } }) });
      expect(res.status, await res.clone().text()).toBe(200);
      expect((await runpod.listEndpoints()).map((e) => e.name)).toContain("live-cpu-worker");
      expect(dev.output()).not.toContain(KEY);
    } finally {
      await dev.stop();
    }
  });

  it("without a key anywhere, flash dev says it runs on the local emulator and why", async () => {
    const dev = await startDevProcess(project, [], { ...runpod.env, HOME: join(home, "nobody"), FLASH_CREDENTIALS_FILE: "" });
    try {
      expect(dev.output()).toMatch(/Backend: local emulator at http:\/\/127\.0\.0\.1:\d+ — no RUNPOD_API_KEY and no credentials in ~\/\.runpod\/config\.toml/);
    } finally {
      await dev.stop();
    }
  });
});
