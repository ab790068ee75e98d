import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyEnvFile, describeEnvFile, findEnvFile, loadEnvFile, readEnvFile } from "../../../src/dev/env-file.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-env-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe(".env", () => {
  it("a missing file is empty; values are parsed with dotenv", async () => {
    expect(await readEnvFile(dir)).toEqual({});
    await writeFile(join(dir, ".env"), "# comment\nA=1\nB='two words'\nexport C=3\n");
    expect(await readEnvFile(dir)).toEqual({ A: "1", B: "two words", C: "3" });
  });

  it("the shell wins, and a re-apply takes back old file values and reports what changed", () => {
    const env: NodeJS.ProcessEnv = { SHELL_SET: "shell" };
    const first = applyEnvFile(env, { SHELL_SET: "file", A: "1", B: "2" });
    expect(env).toMatchObject({ SHELL_SET: "shell", A: "1", B: "2" });
    expect(first.changed).toEqual(["A", "B"]);
    const second = applyEnvFile(env, { A: "1", C: "3" }, first.state);
    expect(env).toEqual({ SHELL_SET: "shell", A: "1", C: "3" });
    expect(second.changed).toEqual(["B", "C"]);
  });
});

describe("finding .env upward", () => {
  it("takes the nearest .env from the project up to the repository root, and none above it", async () => {
    const repo = join(dir, "repo");
    const project = join(repo, "apps", "api");
    await mkdir(project, { recursive: true });
    await mkdir(join(repo, ".git"));
    await writeFile(join(dir, ".env"), "ABOVE_REPO=1\n");
    const env = { HOME: "/nowhere" };
    expect(await findEnvFile(project, env)).toBeUndefined();
    await writeFile(join(repo, ".env"), "AT_ROOT=1\n");
    expect(await loadEnvFile(project, env)).toEqual({ path: join(repo, ".env"), values: { AT_ROOT: "1" } });
    await writeFile(join(repo, "apps", ".env"), "IN_APPS=1\n");
    expect(await findEnvFile(project, env)).toBe(join(repo, "apps", ".env"));
    await writeFile(join(project, ".env"), "IN_PROJECT=1\n");
    expect(await readEnvFile(project, env)).toEqual({ IN_PROJECT: "1" });
  });

  it("a .git file (worktrees, submodules) marks the root too; a folder named .env is not a file; the home folder is the last one looked at", async () => {
    const home = join(dir, "home");
    const project = join(home, "code", "app");
    await mkdir(join(project, ".env"), { recursive: true });
    await writeFile(join(dir, ".env"), "ABOVE_HOME=1\n");
    expect(await findEnvFile(project, { HOME: home })).toBeUndefined();
    await writeFile(join(home, ".env"), "HOME_ENV=1\n");
    expect(await findEnvFile(project, { HOME: home })).toBe(join(home, ".env"));
    await writeFile(join(home, "code", ".git"), "gitdir: /elsewhere\n");
    expect(await findEnvFile(project, { HOME: home })).toBeUndefined();
  });

  it("inside the dev container: the project's own, else the one the host mounted from above", async () => {
    const outer = join(dir, "mounted.env");
    await writeFile(outer, "OUTER=1\n");
    const env = { FLASH_IN_CONTAINER: "1", FLASH_ENV_FILE: outer, FLASH_ENV_FILE_HOST: "/home/me/repo/.env" };
    const project = join(dir, "workspace");
    await mkdir(project);
    expect(await findEnvFile(project, env)).toBe(outer);
    expect(describeEnvFile(outer, env)).toBe("/home/me/repo/.env (on the host)");
    await writeFile(join(project, ".env"), "OWN=1\n");
    expect(await findEnvFile(project, env)).toBe(join(project, ".env"));
    expect(describeEnvFile(undefined, env)).toBe("no .env found");
  });

  it("records the file the values came from", () => {
    const env: NodeJS.ProcessEnv = {};
    expect(applyEnvFile(env, { A: "1" }, undefined, "/r/.env").state).toEqual({ applied: new Map([["A", "1"]]), path: "/r/.env" });
  });
});
