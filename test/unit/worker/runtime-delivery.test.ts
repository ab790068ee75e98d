/**
 * The caller's side of runtime delivery, with fake job and LB clients that
 * answer like workers do: the code goes with the first request to an
 * endpoint only, a runtime-missing answer is resent with it, mismatches are
 * resent a bounded number of times, and image problems become
 * WORKER_UNREACHABLE errors with a hint.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUNCTION_PROTOCOL_VERSION } from "../../../src/common/function-protocol.js";
import type { FunctionErrorKind, FunctionRequest, FunctionResponse } from "../../../src/common/function-protocol.js";
import { sha256 } from "../../../src/common/hash.js";
import { WORKER_START_FAILED, formatJobError } from "../../../src/runpod/wire-types.js";
import { RuntimeDelivery } from "../../../src/calls/runtime-delivery.js";
import { loadRuntimeSource } from "../../../src/worker/runtime-source.js";
import type { RuntimeSource } from "../../../src/calls/runtime-delivery.js";

const RUNTIME_TEXT = "export const runtime = 'test';\n".repeat(50);
let dir: string;
let source: RuntimeSource;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flash-delivery-"));
  await writeFile(join(dir, "runtime.mjs"), RUNTIME_TEXT);
  source = loadRuntimeSource(join(dir, "runtime.mjs"), "9.9.9");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const request: FunctionRequest = { flash: FUNCTION_PROTOCOL_VERSION, module: { hash: "a".repeat(64) }, target: { file: "f.ts", export: "f" }, args: [] };
const ok: FunctionResponse = { flash: 1, ok: true, result: 42, logs: [], durationMs: 1 };
const failed = (kind: FunctionErrorKind, message: string = kind): FunctionResponse => ({ flash: 1, ok: false, error: { kind, name: "E", message }, logs: [], durationMs: 0 });

/** A queue endpoint whose workers answer from `script` in turn (the last answer repeats). */
function fakeJobs(script: ((input: FunctionRequest) => FunctionResponse | { status: string; error: string })[]) {
  const seen: FunctionRequest[] = [];
  return {
    seen,
    runToCompletion: async (_endpointId: string, job: { input: unknown }, _options: unknown) => {
      const input = job.input as FunctionRequest;
      seen.push(input);
      const answer = (script[Math.min(seen.length - 1, script.length - 1)] as (typeof script)[number])(input);
      return "flash" in answer ? { id: "j", status: "COMPLETED", output: answer } : { id: "j", ...answer };
    },
  };
}

describe("runtime delivery over queue jobs", () => {
  it("sends the code with the first request to an endpoint, then only the reference", async () => {
    const delivery = new RuntimeDelivery(source);
    const endpoint = fakeJobs([() => ok]);
    const jobs = delivery.jobs(endpoint);
    expect(await jobs.runToCompletion("ep1", { input: request }, {})).toMatchObject({ output: ok });
    await jobs.runToCompletion("ep1", { input: request }, {});
    const [first, second] = endpoint.seen;
    expect(first?.runtime).toMatchObject({ version: "9.9.9", hash: sha256(RUNTIME_TEXT) });
    expect(gunzipSync(Buffer.from(first?.runtime?.gzip ?? "", "base64")).toString()).toBe(RUNTIME_TEXT);
    expect(second?.runtime).toEqual({ version: "9.9.9", hash: sha256(RUNTIME_TEXT) });
  });

  it("resends with the code when a new worker answers runtime-missing", async () => {
    const delivery = new RuntimeDelivery(source);
    const warm = delivery.jobs(fakeJobs([() => ok]));
    await warm.runToCompletion("ep2", { input: request }, {});
    // A later worker of the same endpoint lacks it.
    const endpoint = fakeJobs([(r) => (r.runtime?.gzip ? ok : failed("runtime-missing"))]);
    expect(await delivery.jobs(endpoint).runToCompletion("ep2", { input: request }, {})).toMatchObject({ output: ok });
    expect(endpoint.seen.map((r) => r.runtime?.gzip !== undefined)).toEqual([false, true]);
  });

  it("resends after a mismatch a bounded number of times, then names both versions", async () => {
    const delivery = new RuntimeDelivery(source);
    const healed = fakeJobs([() => failed("runtime-mismatch"), () => ok]);
    expect(await delivery.jobs(healed).runToCompletion("ep3", { input: request }, {})).toMatchObject({ output: ok });
    const stuck = fakeJobs([() => failed("runtime-mismatch", "this worker runs flash-ts 1.0.0, the caller runs flash-ts 9.9.9")]);
    await expect(delivery.jobs(stuck).runToCompletion("ep4", { input: request }, {})).rejects.toMatchObject({
      code: "WORKER_UNREACHABLE",
      message: expect.stringMatching(/1\.0\.0.*9\.9\.9/),
    });
    expect(stuck.seen).toHaveLength(3);
  });

  it("turns an image that cannot run the runtime into WORKER_UNREACHABLE with a hint", async () => {
    const delivery = new RuntimeDelivery(source);
    const old = fakeJobs([() => failed("unsupported-worker", "the image node:18 has Node.js v18.20.0; flash-ts workers need 22 or newer")]);
    await expect(delivery.jobs(old).runToCompletion("ep5", { input: request }, {})).rejects.toMatchObject({
      code: "WORKER_UNREACHABLE",
      message: expect.stringContaining("node:18"),
      hint: expect.stringMatching(/image/),
    });
    const failedStart = fakeJobs([() => ({ status: "FAILED", error: formatJobError({ error_type: WORKER_START_FAILED, error_message: "the image nope:1 is not in the Docker engine", hint: "Build or pull it." }) })]);
    await expect(delivery.jobs(failedStart).runToCompletion("ep6", { input: request }, {})).rejects.toMatchObject({
      code: "WORKER_UNREACHABLE",
      message: expect.stringContaining("nope:1"),
      hint: "Build or pull it.",
    });
  });

  it("leaves jobs that are not function calls alone", async () => {
    const delivery = new RuntimeDelivery(source);
    const seen: unknown[] = [];
    const jobs = delivery.jobs({ runToCompletion: async (_id: string, job: { input: unknown }, _options: unknown) => (seen.push(job.input), { status: "FAILED", error: "boom" }) });
    expect(await jobs.runToCompletion("ep7", { input: { n: 1 } }, {})).toEqual({ status: "FAILED", error: "boom" });
    expect(seen).toEqual([{ n: 1 }]);
  });
});

describe("runtime delivery over load-balanced requests", () => {
  it("attaches the runtime to POST /execute only, and resends on runtime-missing", async () => {
    const delivery = new RuntimeDelivery(source);
    const seen: { path: string; json?: unknown }[] = [];
    let first = true;
    const lb = delivery.loadBalancer({
      request: async (_target: string, options: { path: string; json?: unknown }) => {
        seen.push(options);
        const runtime = (options.json as FunctionRequest | undefined)?.runtime;
        if (options.path !== "/execute") return { status: 200, body: { fine: true } };
        if (first && !runtime?.gzip) return { status: 200, body: failed("runtime-missing") };
        first = false;
        return { status: 200, body: ok };
      },
    });
    expect(await lb.request("http://x/lb/ep", { path: "/health" })).toEqual({ status: 200, body: { fine: true } });
    expect(await lb.request("http://x/lb/ep", { path: "/execute", json: request })).toEqual({ status: 200, body: ok });
    expect(await lb.request("http://x/lb/ep", { path: "/execute", json: request })).toEqual({ status: 200, body: ok });
    expect(seen.map((o) => (o.json as FunctionRequest | undefined)?.runtime?.gzip !== undefined)).toEqual([false, true, false]);
  });
});
