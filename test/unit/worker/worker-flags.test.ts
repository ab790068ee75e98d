import { describe, expect, it } from "vitest";
import { parseWorkerFlags } from "../../../src/cli/commands/worker.js";
import { resolveWorkerMode } from "../../../src/worker/index.js";

describe("flash worker flags", () => {
  it("parses --flag value and --flag=value", () => {
    expect(parseWorkerFlags(["--handler", "h.js", "--concurrency=4", "--test-input", '{"input":1}'])).toEqual({
      help: false,
      handler: "h.js",
      concurrency: 4,
      testInput: '{"input":1}',
    });
    expect(parseWorkerFlags(["-h"]).help).toBe(true);
    expect(parseWorkerFlags(["--test_input", "{}"]).testInput).toBe("{}");
  });

  it("rejects bad values and unknown options with clear messages", () => {
    expect(() => parseWorkerFlags(["--concurrency", "0"])).toThrow(/--concurrency must be a whole number/);
    expect(() => parseWorkerFlags(["--concurrency", "2.5"])).toThrow(/--concurrency/);
    expect(() => parseWorkerFlags(["--handler"])).toThrow(/--handler needs a value/);
    expect(() => parseWorkerFlags(["--port", "1"])).toThrow(/unknown option --port/);
    expect(() => parseWorkerFlags(["extra"])).toThrow(/unexpected argument/);
  });
});

describe("worker mode", () => {
  it("is queue mode with a job URL, LB with PORT, one-shot otherwise or with --test-input", () => {
    expect(resolveWorkerMode({ RUNPOD_WEBHOOK_GET_JOB: "http://x", PORT: "80" }, {})).toBe("queue");
    expect(resolveWorkerMode({ PORT: "80" }, {})).toBe("load-balancer");
    expect(resolveWorkerMode({}, {})).toBe("one-shot");
    expect(resolveWorkerMode({ RUNPOD_WEBHOOK_GET_JOB: "http://x" }, { testInput: "{}" })).toBe("one-shot");
  });
});
