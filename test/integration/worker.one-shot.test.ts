/**
 * The local one-shot mode (docs/worker-protocol.md, "Local one-shot mode"): no job URL and no PORT → run one
 * job from --test-input or ./test_input.json, print the result, exit 0/1.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseFunctionResponse } from "../../src/common/function-protocol.js";
import { bundleFixture, makeRequest, tempDir } from "../helpers/worker-bundles.js";
import { HANDLERS, killWorkerProcesses, startWorkerProcess } from "../helpers/worker-process.js";

let dir: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await killWorkerProcesses();
  await dir.remove();
});

const jobs = join(HANDLERS, "jobs.mjs");
const env = () => ({ FLASH_WORKER_CACHE: join(dir.path, "cache") });

describe("flash worker one-shot mode", () => {
  it("runs --test-input, prints the result to stdout and exits 0", async () => {
    const worker = startWorkerProcess(["--handler", jobs, "--test-input", '{"input": {"action": "echo", "value": [1, 2]}}'], env(), dir.path);
    expect(await worker.exited).toBe(0);
    expect(JSON.parse(worker.stdout)).toEqual({ output: { echo: [1, 2], id: "local_test", extra: null } });
  });

  it("reads ./test_input.json and exits 1 when the job fails", async () => {
    await writeFile(join(dir.path, "test_input.json"), JSON.stringify({ id: "from-file", input: { action: "fail" } }));
    const worker = startWorkerProcess(["--handler", jobs], env(), dir.path);
    expect(await worker.exited).toBe(1);
    const body = JSON.parse(worker.stdout) as { error: string };
    expect(JSON.parse(body.error)).toMatchObject({ error_type: "TypeError", error_message: "handler failed on purpose" });
  });

  it("exits 1 with a clear message when the input has no `input` or there is none", async () => {
    const noInput = startWorkerProcess(["--handler", jobs, "--test-input", '{"id": "x"}'], env(), dir.path);
    expect(await noInput.exited).toBe(1);
    expect(noInput.stderr).toMatch(/must be a JSON object with an "input" key/);
    const nothing = startWorkerProcess(["--handler", jobs], env(), dir.path);
    expect(await nothing.exited).toBe(1);
    expect(nothing.stderr).toMatch(/no job to run/);
    const badJson = startWorkerProcess(["--handler", jobs, "--test-input", "{nope"], env(), dir.path);
    expect(await badJson.exited).toBe(1);
    expect(badJson.stderr).toMatch(/--test-input is not valid JSON/);
  });

  it.each([
    ["a cache in the temp folder", "cache"],
    ["a cache under node_modules (Node skips those for source maps unless told)", "node_modules/.cache/flash-ts-worker"],
  ])("runs a FunctionRequest without --handler; stacks point at the user's TypeScript (%s)", async (_what, cacheDir) => {
    const boom = await bundleFixture("workers/boom.ts");
    const input = JSON.stringify({ input: makeRequest(boom, "workers/boom.ts", "boom", [{ n: 5 }]) });
    const worker = startWorkerProcess(["--test-input", input], { FLASH_WORKER_CACHE: join(dir.path, cacheDir) }, dir.path);
    expect(await worker.exited).toBe(1);
    const response = parseFunctionResponse((JSON.parse(worker.stdout) as { output: unknown }).output);
    expect(response.ok).toBe(false);
    if (response.ok) return;
    expect(response.error).toMatchObject({ kind: "function", message: "boom 5" });
    expect(response.error.stack?.split("\n").slice(0, 3)).toEqual([
      "Error: boom 5",
      "    at explode (workers/boom.ts:7:9)",
      expect.stringMatching(/^\s+at .*workers\/boom\.ts:11:10\)?$/),
    ]);
  });

  it("prints --help and exits 0; rejects unknown flags with exit 1", async () => {
    const help = startWorkerProcess(["--help"], env(), dir.path);
    expect(await help.exited).toBe(0);
    expect(help.stdout).toMatch(/Usage: flash worker/);
    const bad = startWorkerProcess(["--bogus"], env(), dir.path);
    expect(await bad.exited).toBe(1);
    expect(bad.stderr).toMatch(/unknown option --bogus/);
  });
});
