import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyEnvFile, readEnvFile } from "../../../src/dev/env-file.js";

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
