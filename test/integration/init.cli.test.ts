/** `flash init` through the built CLI: what a person sees, and the exit codes. */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {  } from "../helpers/dev-process.js";
import { CLI } from "../helpers/processes.js";

const run = promisify(execFile);
let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "flash-init-cli-"));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const flash = (args: string[]) =>
  run(process.execPath, [CLI, ...args], { cwd: base, env: { ...process.env, NO_COLOR: "1" } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe("flash init (CLI)", () => {
  it("writes the project, lists the files and says what to run next", async () => {
    const r = await flash(["init", "orders"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Created orders in orders:/);
    expect(r.stdout).toMatch(/\+ compose\.yaml/);
    expect(r.stdout).toMatch(/cd orders\n\s+npm install && npx flash dev/);
    expect(readdirSync(join(base, "orders"))).toContain("gpu_worker.ts");
  });

  it("refuses a folder with files in it: one error line with a hint, exit code 1, nothing written", async () => {
    mkdirSync(join(base, "busy"));
    writeFileSync(join(base, "busy", "notes.txt"), "mine");
    const r = await flash(["init", "busy"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^✖ .*busy is not empty \(notes\.txt\); nothing was written/);
    expect(r.stderr).toMatch(/--force/);
    expect(readdirSync(join(base, "busy"))).toEqual(["notes.txt"]);
  });

  it("refuses an invalid name, naming npm's rule, and creates no folder", async () => {
    const r = await flash(["init", "ok-folder", "--name", "Crazy!"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"Crazy!" is not a valid npm package name: a package name cannot contain capital letters; a package name cannot contain any of ~'!\(\)\*/);
    expect(readdirSync(base)).not.toContain("ok-folder");
  });

  it("--help lists the options", async () => {
    const r = await flash(["init", "--help"]);
    expect(r.code).toBe(0);
    for (const option of ["--name", "--force", "--overwrite"]) expect(r.stdout).toContain(option);
  });
});
