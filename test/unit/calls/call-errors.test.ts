/**
 * The one error mapping of function calls, as a table: what went wrong (job
 * status, FunctionResponse error kind, LB answer, transport failure) → code
 * → the HTTP status the dev server answers with. docs/internals.md
 * ("Function calls") shows the same table.
 */
import { describe, expect, it } from "vitest";
import { errorForFailure, errorForJob, errorForLbAnswer, errorForTransport, FunctionCallError } from "../../../src/calls/call-errors.js";
import type { CallSite } from "../../../src/calls/call-errors.js";
import { AppError } from "../../../src/common/errors.js";
import type { FunctionErrorKind, FunctionFailure } from "../../../src/common/function-protocol.js";
import { RunpodError } from "../../../src/runpod/errors.js";
import type { JobState } from "../../../src/runpod/wire-types.js";

const site: CallSite = { endpoint: "live-gpu", target: { file: "gpu.ts", export: "run" } };

function failure(kind: FunctionErrorKind, extra: Partial<FunctionFailure["error"]> = {}): FunctionFailure {
  return { flash: 1, ok: false, error: { kind, name: "TypeError", message: "went wrong", ...extra }, logs: [{ stream: "stdout", text: "hi" }], durationMs: 3 };
}

function job(status: JobState["status"], error?: string): JobState {
  return { id: "job-1", status, delayTime: 1, executionTime: 2, ...(error ? { error } : {}) };
}

const aborted = new AbortController();
const abortReason = new Error("client went away");
aborted.abort(abortReason);

describe("the error mapping of function calls", () => {
  it.each([
    // what the worker answered (FunctionResponse error kind)
    ["the function threw", () => errorForFailure(failure("function"), site), "FUNCTION_ERROR", 500],
    ["the worker's own timeout cut the call", () => errorForFailure(failure("timeout"), site), "FUNCTION_TIMEOUT", 504],
    ["dependencies could not be installed", () => errorForFailure(failure("dependencies"), site), "DEPENDENCY_INSTALL_FAILED", 500],
    ["the module or target did not load", () => errorForFailure(failure("load"), site), "FUNCTION_LOAD_FAILED", 503],
    ["the module is missing even with its code", () => errorForFailure(failure("module-missing"), site), "UPSTREAM_ERROR", 502],
    ["the runtime failed around the call", () => errorForFailure(failure("runtime"), site), "UPSTREAM_ERROR", 502],
    // how a QB job ended without a FunctionResponse (the text of `error` plays no part)
    ["FAILED (the worker died)", () => errorForJob(job("FAILED", "worker w1 exited with SIGKILL while running the job"), site), "WORKER_CRASHED", 502],
    ["FAILED (any other text)", () => errorForJob(job("FAILED", "boom"), site), "WORKER_CRASHED", 502],
    ["FAILED (no text at all)", () => errorForJob(job("FAILED"), site), "WORKER_CRASHED", 502],
    ["TIMED_OUT", () => errorForJob(job("TIMED_OUT"), site), "FUNCTION_TIMEOUT", 504],
    ["CANCELLED", () => errorForJob(job("CANCELLED"), site), "FUNCTION_CANCELLED", 500],
    // what an LB endpoint answered instead of 200
    ["LB 502 from a worker that took the request", () => errorForLbAnswer({ status: 502, headers: { "x-runpod-worker-id": "w1" }, body: { error: "x" } }, site), "WORKER_CRASHED", 502],
    ["LB 502 without a worker", () => errorForLbAnswer({ status: 502, headers: {}, body: { error: "x" } }, site), "WORKER_UNREACHABLE", 502],
    ["LB 503 (no workers available)", () => errorForLbAnswer({ status: 503, headers: {}, body: { error: "no workers available" } }, site), "WORKER_UNREACHABLE", 502],
    ["LB 504 (the platform's processing limit)", () => errorForLbAnswer({ status: 504, headers: {}, body: "" }, site), "FUNCTION_TIMEOUT", 504],
    ["LB 413", () => errorForLbAnswer({ status: 413, headers: {}, body: "" }, site), "BODY_TOO_LARGE", 413],
    ["LB 429", () => errorForLbAnswer({ status: 429, headers: {}, body: "" }, site), "RATE_LIMITED", 429],
    ["LB 500", () => errorForLbAnswer({ status: 500, headers: {}, body: "" }, site), "UPSTREAM_ERROR", 502],
    // no usable answer
    ["the overall wait ran out", () => errorForTransport(new RunpodError("UPSTREAM_TIMEOUT", "late", { details: { jobId: "j" } }), site), "FUNCTION_TIMEOUT", 504],
    ["no answer at all (network)", () => errorForTransport(new RunpodError("UPSTREAM_ERROR", "ECONNREFUSED"), site), "WORKER_UNREACHABLE", 502],
    ["Runpod refused the key", () => errorForTransport(new RunpodError("UNAUTHORIZED", "401", { upstreamStatus: 401 }), site), "UNAUTHORIZED", 401],
    ["Runpod rate-limited", () => errorForTransport(new RunpodError("RATE_LIMITED", "429", { upstreamStatus: 429 }), site), "RATE_LIMITED", 429],
    ["Runpod answered 404 (endpoint gone)", () => errorForTransport(new RunpodError("NOT_FOUND", "404", { upstreamStatus: 404 }), site), "NOT_FOUND", 404],
    ["provisioning failed", () => errorForTransport(new AppError("PROVISION_FAILED", "no"), site), "PROVISION_FAILED", 503],
    ["anything else thrown", () => errorForTransport(new Error("socket hang up"), site), "WORKER_UNREACHABLE", 502],
    ["the caller gave up", () => errorForTransport(abortReason, site, aborted.signal), "FUNCTION_CANCELLED", 500],
  ])("%s", (_what, make, code, status) => {
    const error = make();
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.details?.endpoint ?? error.message).toEqual(expect.stringContaining("live-gpu"));
  });

  it("a caller that gave up with a coded reason gets that reason", () => {
    const controller = new AbortController();
    const reason = new AppError("SERVICE_UNAVAILABLE", "flash dev is stopping");
    controller.abort(reason);
    expect(errorForTransport(reason, site, controller.signal)).toBe(reason);
  });

  it("a function's failure reads like the remote error, with its details", () => {
    const error = errorForFailure(failure("function", { stack: "TypeError: went wrong\n    at run (gpu.ts:3:9)", thrown: { code: 42 } }), { ...site, jobId: "j9" });
    expect(error).toBeInstanceOf(FunctionCallError);
    expect(error.name).toBe("TypeError");
    expect(error.message).toBe("went wrong");
    expect(error.stack).toContain("gpu.ts:3:9");
    expect(error.thrown).toEqual({ code: 42 });
    expect(error.details).toEqual({ endpoint: "live-gpu", jobId: "j9", function: "gpu.ts#run", name: "TypeError", stack: error.stack, logs: ["hi"], thrown: { code: 42 } });
  });

  it("a failure without a stack gets one that names the endpoint", () => {
    expect(errorForFailure(failure("function"), site).stack).toBe("TypeError: went wrong\n    at <remote> (live-gpu)");
  });
});
