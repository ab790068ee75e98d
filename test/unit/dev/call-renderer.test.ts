/**
 * The console's view of calls: their output, and the live state of calls in
 * flight over a second — plain lines when piped, and on a terminal one line
 * per call redrawn in place under everything else (checked on a small
 * terminal emulator: what the screen shows, not which bytes were written).
 */
import { describe, expect, it } from "vitest";
import { createConsoleRenderer } from "../../../src/dev/console-renderer.js";
import { DevSessionEmitter } from "../../../src/dev/session-events.js";
import type { DevSessionEvents } from "../../../src/dev/session-events.js";
import { AppError } from "../../../src/common/errors.js";
import { createLogger } from "../../../src/common/logger.js";
import type { HealthResponse } from "../../../src/runpod/wire-types.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { FakeTerminal } from "../../helpers/fake-terminal.js";

const workers = (w: Partial<HealthResponse["workers"]>): HealthResponse["workers"] => ({ idle: 0, initializing: 0, ready: 0, running: 0, throttled: 0, unhealthy: 0, ...w });
const jobCounts: HealthResponse["jobs"] = { completed: 0, failed: 0, inProgress: 0, inQueue: 1, retried: 0 };

function setUp(terminal?: FakeTerminal) {
  const events = new DevSessionEmitter();
  const clock = new FakeClock();
  const printed: string[] = [];
  const write = (text: string): void => {
    printed.push(text);
    terminal?.write(text + "\n");
  };
  const logger = createLogger({ level: "info", color: false, write });
  const off = createConsoleRenderer({ terminal })(events, { print: write, logger, clock });
  let nextId = 0;
  const call = (over: Partial<DevSessionEvents["callStarted"]> = {}) => {
    const ref = { callId: ++nextId, function: "gpu.ts#hello", endpoint: "live-gpu", local: false, ...over };
    events.emit("callStarted", { ...ref, route: { method: "POST", path: "/gpu/run_sync" } });
    return {
      submitted: (jobId?: string) => events.emit("callSubmitted", { ...ref, attempt: 1, ...(jobId ? { jobId } : {}) }),
      status: (status: "IN_QUEUE" | "IN_PROGRESS") => events.emit("callStatus", { ...ref, jobId: "job-1", status }),
      health: (w: Partial<HealthResponse["workers"]>) => events.emit("callHealth", { ...ref, workers: workers(w), jobs: jobCounts }),
      logs: (...logs: DevSessionEvents["callLogs"]["logs"]) => events.emit("callLogs", { ...ref, logs }),
      done: (durationMs: number) => events.emit("callFinished", { ...ref, durationMs, outcome: "completed" }),
      failed: (durationMs: number) => events.emit("callFinished", { ...ref, durationMs, outcome: "failed", error: new AppError("FUNCTION_ERROR", "boom") }),
    };
  };
  return { events, clock, printed, off, call };
}

describe("calls on piped output", () => {
  it("a call that ends within a second shows only its output, prefixed with its endpoint (a nested call's with its callee's)", async () => {
    const t = setUp();
    const c = t.call();
    c.submitted("job-1");
    c.logs({ stream: "stdout", text: "hello" }, { stream: "stderr", text: "inner\n", endpoint: "live-inner" });
    c.done(420);
    await t.clock.advance(5000);
    expect(t.printed).toEqual(["[live-gpu] hello", "[live-inner] inner"]);
  });

  it("a cold start reads as plain lines in order: queued, worker initializing, running, done in N s", async () => {
    const t = setUp();
    const c = t.call();
    c.submitted("job-1");
    c.status("IN_QUEUE");
    await t.clock.advance(1000);
    c.health({ initializing: 1 });
    c.health({ initializing: 1 });
    c.status("IN_PROGRESS");
    c.logs({ stream: "stdout", text: "working" });
    // The status-sync answer that ends the call reports COMPLETED just before the end.
    t.events.emit("callStatus", { callId: 1, function: "gpu.ts#hello", endpoint: "live-gpu", local: false, jobId: "job-1", status: "COMPLETED" });
    c.done(4240);
    expect(t.printed).toEqual([
      "[live-gpu] POST /gpu/run_sync: queued",
      "[live-gpu] POST /gpu/run_sync: worker initializing (cold start)",
      "[live-gpu] POST /gpu/run_sync: running",
      "[live-gpu] working",
      "[live-gpu] POST /gpu/run_sync: done in 4.2 s",
    ]);
  });

  it("says throttled with its hint once, a lasting state again now and then, and a failure with its code", async () => {
    const t = setUp();
    const c = t.call();
    await t.clock.advance(1000);
    expect(t.printed).toEqual(["[live-gpu] POST /gpu/run_sync: provisioning the endpoint"]);
    c.submitted("job-1");
    c.health({ throttled: 2 });
    c.health({ throttled: 2, initializing: 0 });
    await t.clock.advance(16_000);
    c.health({ initializing: 1 });
    c.health({ throttled: 1 });
    c.failed(30_000);
    expect(t.printed).toEqual([
      "[live-gpu] POST /gpu/run_sync: provisioning the endpoint",
      "[live-gpu] POST /gpu/run_sync: queued",
      "[live-gpu] POST /gpu/run_sync: throttled: no capacity for a worker right now",
      expect.stringMatching(/^ {2}hint: Runpod has no machine free .*GpuGroup\.ANY.*workersMax/),
      "[live-gpu] POST /gpu/run_sync: still throttled: no capacity for a worker right now (16 s)",
      "[live-gpu] POST /gpu/run_sync: worker initializing (cold start)",
      "[live-gpu] POST /gpu/run_sync: throttled: no capacity for a worker right now",
      "[live-gpu] POST /gpu/run_sync: failed after 30.0 s (FUNCTION_ERROR)",
    ]);
  });

  it("notes lines the worker did not stream", () => {
    const t = setUp();
    const c = t.call();
    t.events.emit("callLogsDropped", { callId: 1, function: "gpu.ts#hello", endpoint: "live-gpu", local: false, count: 120 });
    c.done(10);
    expect(t.printed).toEqual(["[live-gpu] 120 line(s) not shown live (over the worker's rate limit); they follow with the result"]);
  });
});

describe("calls on a terminal", () => {
  it("keeps one updating line per call in flight at the bottom, under the output, and leaves only the final lines", async () => {
    const term = new FakeTerminal();
    const t = setUp(term);
    term.write("12:00:00 GET /ping 200 1 ms\n");
    const a = t.call();
    const b = t.call({ endpoint: "live-cpu", function: "cpu.ts#work" });
    a.submitted("job-1");
    b.submitted("job-2");
    await t.clock.advance(1000);
    expect(term.screen()).toEqual([
      "12:00:00 GET /ping 200 1 ms",
      "… [live-gpu] POST /gpu/run_sync: queued · 1 s",
      "… [live-cpu] POST /gpu/run_sync: queued · 1 s",
    ]);
    a.health({ initializing: 1 });
    await t.clock.advance(2000);
    // Output written meanwhile scrolls above the live lines, whole.
    a.status("IN_PROGRESS");
    a.logs({ stream: "stdout", text: "working" });
    term.write("12:00:03 POST /other 200 ");
    expect(term.screen().slice(-1)).toEqual(["12:00:03 POST /other 200 "]);
    term.write("5 ms\n");
    expect(term.screen()).toEqual([
      "12:00:00 GET /ping 200 1 ms",
      "[live-gpu] working",
      "12:00:03 POST /other 200 5 ms",
      "… [live-gpu] POST /gpu/run_sync: running · 3 s",
      "… [live-cpu] POST /gpu/run_sync: queued · 3 s",
    ]);
    a.done(3500);
    b.health({ throttled: 1 });
    const screen = term.screen();
    expect(screen.slice(0, 4)).toEqual(["12:00:00 GET /ping 200 1 ms", "[live-gpu] working", "12:00:03 POST /other 200 5 ms", "[live-gpu] POST /gpu/run_sync: done in 3.5 s"]);
    // The hint is an ordinary (wrapping) line above; the live line is cut to the width.
    expect(screen.slice(4, -1).join("")).toMatch(/^\[live-cpu\] hint: Runpod has no machine free.*until a worker can start\.$/);
    expect(screen.at(-1)).toBe("… [live-cpu] POST /gpu/run_sync: throttled: no capacity for a worker r…");
    expect([...screen.at(-1)!]).toHaveLength(term.columns - 1);
    t.events.emit("closed", {});
    expect(term.screen().at(-1)).toMatch(/until a worker can start\.$/);
  });

  it("shows --auto-provision's progress while it runs", async () => {
    const term = new FakeTerminal();
    const t = setUp(term);
    t.events.emit("provisionStarted", { count: 2 });
    await t.clock.advance(3000);
    t.events.emit("provisionResult", { endpointName: "live-a", ok: true, outcome: "created", durationMs: 2500 });
    expect(term.screen()).toEqual(["Provisioning 2 endpoint(s)…", "  ✓ live-a created in 2.5 s", "Provisioning 2 endpoint(s)… 1/2 ready · 3 s"]);
    t.events.emit("provisionFinished", { durationMs: 3100, counts: { created: 2, updated: 0, adopted: 0, cached: 0, failed: 0 } });
    expect(term.screen().at(-1)).toBe("✓ Provisioning finished in 3.1 s: 2 created");
    t.off();
  });
});
