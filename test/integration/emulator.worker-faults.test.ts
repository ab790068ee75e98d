/**
 * Faults of an endpoint's workers the emulator must turn into clear job
 * failures instead of jobs stuck IN_QUEUE (process workers; the container
 * variants are in emulator.container.test.ts): a worker that fails
 * runpod-python's start-up fitness check (one ping with status=unhealthy,
 * then exit 1), and the worker environment the emulator gives.
 */
import { describe, expect, it } from "vitest";
import { parseJobError, WORKER_START_FAILED } from "../../src/runpod/wire-types.js";
import type { JobState } from "../../src/runpod/wire-types.js";
import { emulatorPerTest, FAKE_WORKER_COMMAND } from "../helpers/emulator.js";
import { waitFor } from "../helpers/wait.js";

const emulator = emulatorPerTest();

describe("workers that never become ready", () => {
  it("a worker that reports unhealthy and exits is not ready: queued jobs fail after a bounded number of tries", async () => {
    const t = await emulator();
    const ep = await t.createEndpoint({ name: "unfit", args: FAKE_WORKER_COMMAND, env: { FAKE_WORKER_UNHEALTHY_AT_START: "gpu" }, workers: { min: 0, max: 1, idleTimeout: 5 } });
    const res = await t.json<JobState>(`/v2/${ep.id}/runsync?wait=60000`, { method: "POST", json: { input: 1 } });
    expect(res.status).toBe("FAILED");
    const error = parseJobError(res.error);
    expect(error).toMatchObject({ error_type: WORKER_START_FAILED, error_message: expect.stringMatching(/workers of endpoint "unfit" keep exiting before they are ready \(last: code 1\)/) });
    expect(error?.hint).toMatch(/worker output/);
    expect(t.logs.some((l) => /\[unfit\] worker \S+ reports unhealthy \(gpu\): no GPU found/.test(l))).toBe(true);
  });
});

describe("the worker environment", () => {
  it("skips runpod-python's start-up system checks unless the endpoint says otherwise, and never lets process workers install system packages", async () => {
    const t = await emulator();
    const names = "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS,FLASH_SYSTEM_DEPENDENCIES_INSTALL";
    const a = await t.createEndpoint({ name: "checks-off", args: FAKE_WORKER_COMMAND, env: { FAKE_WORKER_PRINT_ENV: names }, workers: { min: 1, max: 1, idleTimeout: 5 } });
    const b = await t.createEndpoint({ name: "checks-on", args: FAKE_WORKER_COMMAND, env: { FAKE_WORKER_PRINT_ENV: names, RUNPOD_SKIP_AUTO_SYSTEM_CHECKS: "false" }, workers: { min: 1, max: 1, idleTimeout: 5 } });
    await waitFor("both workers' environment", () => t.logs.filter((l) => l.includes("fake worker env")).length >= 4);
    expect(t.logs).toContainEqual(expect.stringMatching(/\[checks-off\] fake worker env RUNPOD_SKIP_AUTO_SYSTEM_CHECKS=true$/));
    expect(t.logs).toContainEqual(expect.stringMatching(/\[checks-on\] fake worker env RUNPOD_SKIP_AUTO_SYSTEM_CHECKS=false$/));
    expect(t.logs).toContainEqual(expect.stringMatching(/\[checks-off\] fake worker env FLASH_SYSTEM_DEPENDENCIES_INSTALL=0$/));
    expect([a.id, b.id]).toHaveLength(2);
  });
});
