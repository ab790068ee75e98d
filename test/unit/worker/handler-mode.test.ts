import { describe, expect, it } from "vitest";
import { createHandlerRunner, handlerErrorBody, shapeHandlerResult } from "../../../src/worker/handler-mode.js";
import type { Handler } from "../../../src/worker/handler-mode.js";
import type { JobContext } from "../../../src/worker/job-runner.js";

function context(signal = new AbortController().signal): JobContext & { streamed: unknown[]; progressed: unknown[] } {
  const streamed: unknown[] = [];
  const progressed: unknown[] = [];
  return {
    signal,
    streamed,
    progressed,
    progress: async (v) => void progressed.push(v),
    stream: async (v) => void streamed.push(v),
  };
}

const who = { workerId: "w-1", version: "0.1.0" };
const run = (handler: Handler, ctx = context(), input: unknown = { x: 1 }) => createHandlerRunner({ file: "h.js", handler }, who).run({ id: "job-1", input }, ctx);

describe("shapeHandlerResult (docs/worker-protocol.md, Results)", () => {
  it("wraps any value as output, undefined as null", () => {
    expect(shapeHandlerResult(5)).toEqual({ output: 5 });
    expect(shapeHandlerResult(false)).toEqual({ output: false });
    expect(shapeHandlerResult(null)).toEqual({ output: null });
    expect(shapeHandlerResult(undefined)).toEqual({ output: null });
    expect(shapeHandlerResult([1, { error: "x" }])).toEqual({ output: [1, { error: "x" }] });
  });

  it("lifts a truthy error and refresh_worker out of a returned object", () => {
    expect(shapeHandlerResult({ a: 1, error: "bad" })).toEqual({ output: { a: 1 }, error: "bad" });
    expect(shapeHandlerResult({ error: "bad" })).toEqual({ error: "bad" });
    expect(shapeHandlerResult({ a: 1, error: "" })).toEqual({ output: { a: 1 } });
    expect(shapeHandlerResult({ a: 1, refresh_worker: true })).toEqual({ output: { a: 1 }, stopPod: true });
    expect(shapeHandlerResult({})).toEqual({});
  });
});

describe("handlerErrorBody", () => {
  it("is a JSON string with error_type, error_message and error_traceback", () => {
    const body = handlerErrorBody(new RangeError("out of range"), who);
    const parsed = JSON.parse(body.error as string) as Record<string, string>;
    expect(parsed).toMatchObject({ error_type: "RangeError", error_message: "out of range", worker_id: "w-1", runpod_version: "0.1.0" });
    expect(parsed.error_traceback).toContain("RangeError: out of range");
    expect(typeof parsed.hostname).toBe("string");
    expect(JSON.parse(handlerErrorBody("plain", who).error as string)).toMatchObject({ error_type: "string", error_message: "plain" });
  });
});

describe("handler runner", () => {
  it("gives the handler the job and a context, sync or async", async () => {
    const seen: unknown[] = [];
    const outcome = await run((job, ctx) => {
      seen.push(job, ctx.jobId, ctx.signal instanceof AbortSignal);
      return { doubled: (job.input as { x: number }).x * 2 };
    });
    expect(outcome).toEqual({ body: { output: { doubled: 2 } }, isStream: false, failed: false });
    expect(seen).toEqual([{ id: "job-1", input: { x: 1 } }, "job-1", true]);
    expect((await run(async () => "async")).body).toEqual({ output: "async" });
  });

  it("fails the job when the handler throws or returns an error", async () => {
    const thrown = await run(() => {
      throw new Error("nope");
    });
    expect(thrown.failed).toBe(true);
    expect(JSON.parse(thrown.body.error as string)).toMatchObject({ error_type: "Error", error_message: "nope" });
    expect(await run(async () => ({ error: "graceful" }))).toEqual({ body: { error: "graceful" }, isStream: false, failed: true });
  });

  it("streams what an async generator yields; the output is the list", async () => {
    const ctx = context();
    const outcome = await run(async function* () {
      yield "a";
      yield { b: 2 };
    }, ctx);
    expect(ctx.streamed).toEqual(["a", { b: 2 }]);
    expect(outcome).toEqual({ body: { output: ["a", { b: 2 }] }, isStream: true, failed: false });
  });

  it("streams sync generators too, stops at a yielded error, and reports a throw mid-stream", async () => {
    const sync = context();
    expect((await run(function* () {
      yield 1;
      yield 2;
    }, sync)).body).toEqual({ output: [1, 2] });
    const stopped = context();
    const withError = await run(async function* () {
      yield 1;
      yield { error: "half way" };
      yield 3;
    }, stopped);
    expect(withError).toEqual({ body: { error: "half way" }, isStream: true, failed: true });
    expect(stopped.streamed).toEqual([1]);
    const threw = await run(async function* () {
      yield 1;
      throw new Error("mid-stream");
    });
    expect(threw.failed).toBe(true);
    expect(threw.body.error).toMatch(/^handler: mid-stream \ntraceback: Error: mid-stream/);
  });

  it("hands progress updates to the job context", async () => {
    const ctx = context();
    await run(async (_job, hctx) => {
      await hctx.progress({ pct: 10 });
      return 1;
    }, ctx);
    expect(ctx.progressed).toEqual([{ pct: 10 }]);
  });
});
