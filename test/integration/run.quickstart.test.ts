/**
 * Issue acceptance: Python Flash's quickstart (gpu_demo.py), ported to
 * TypeScript as examples/quickstart/gpu_demo.ts, runs as written with
 * `flash run gpu_demo.ts` on the local emulator: its decorated function runs
 * on its endpoint's worker and the script prints what Python's prints.
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { copyProject, removeProject, REPO_ROOT } from "../helpers/dev-process.js";
import { killProcesses, startCli } from "../helpers/processes.js";

let dir: string;

beforeAll(async () => {
  dir = await copyProject(join(REPO_ROOT, "examples", "quickstart"));
});

afterEach(async () => {
  await killProcesses();
});

afterAll(async () => {
  await removeProject(dir);
});

describe("examples/quickstart", () => {
  it("runs gpu_demo.ts as written: the matrix multiplication runs on the flash-quickstart endpoint", async () => {
    const run = startCli(["run", "gpu_demo.ts"], { cwd: dir });
    expect(await run.closed, run.output()).toBe(0);
    expect(run.stdout()).toMatch(/^Running matrix multiplication on Runpod GPU\.\.\.\n\n✓ Matrix size: 1000x1000\n✓ Result mean: \d+\.\d{4}\n✓ GPU used: .+\n$/);
    // About size/4 for uniform random matrices: the product was computed, not made up.
    const mean = Number(/Result mean: (\S+)/.exec(run.stdout())![1]);
    expect(mean).toBeGreaterThan(240);
    expect(mean).toBeLessThan(260);
    // It ran on the endpoint's worker, which flash run started and stopped.
    expect(run.stderr()).toContain("[live-flash-quickstart] [worker]");
  });

  it("passes its arguments to the script (a smaller matrix)", async () => {
    const run = startCli(["run", "gpu_demo.ts", "40"], { cwd: dir });
    expect(await run.closed, run.output()).toBe(0);
    expect(run.stdout()).toContain("✓ Matrix size: 40x40");
  });
});
