/**
 * The console is a renderer of session events: the one place console text is
 * tested as text. The lines are those `flash dev` printed before the session
 * had events (README.md shows them).
 */
import { describe, expect, it } from "vitest";
import { renderConsole } from "../../../src/dev/console-renderer.js";
import { DevSessionEmitter } from "../../../src/dev/session-events.js";
import { AppError } from "../../../src/common/errors.js";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { createRouteGeneration } from "../../../src/server/route-generation.js";
import { manifestOf, qbEntry } from "../../helpers/server-fixtures.js";

function setUp() {
  const events = new DevSessionEmitter();
  const printed: string[] = [];
  const logger = createMemoryLogger("debug");
  const off = renderConsole(events, { print: (text) => printed.push(text), logger });
  return { events, printed, logger, off };
}

describe("console renderer", () => {
  it("prints the banner from ready", () => {
    const { events, printed } = setUp();
    const routes = createRouteGeneration(manifestOf([qbEntry("gpu_worker.ts", "hello", { resource: "gpu-worker" })])).routes;
    events.emit("ready", {
      url: "http://localhost:8888",
      publicUrl: "http://localhost:8888",
      routes,
      backend: { kind: "local", description: "local emulator at http://127.0.0.1:4000" },
      backendReason: "no RUNPOD_API_KEY and no credentials in ~/.runpod/config.toml",
      envFile: "/repo/.env",
      watch: "watching 12 files with native file events",
      startupMs: 1234.4,
    });
    expect(printed.join("\n").split("\n")).toEqual([
      "",
      "Flash Dev Server  http://localhost:8888",
      "",
      "  METHOD  PATH                  ENDPOINT         TYPE",
      "  POST    /gpu_worker/run_sync  live-gpu-worker  QB",
      "",
      "  Docs: http://localhost:8888/docs",
      "  Backend: local emulator at http://127.0.0.1:4000 — no RUNPOD_API_KEY and no credentials in ~/.runpod/config.toml",
      "  Env file: /repo/.env",
      "  watching 12 files with native file events",
      "  Started in 1.2 s. Press Ctrl+C to stop.",
      "",
    ]);
    events.emit("ready", { url: "u", publicUrl: "http://x:1", routes: [], backend: { kind: "runpod", description: "Runpod (https://api.runpod.io)" }, backendReason: "RUNPOD_API_KEY is set", envFile: "no .env found", watch: undefined, startupMs: 87.6 });
    expect(printed.at(-1)).toContain("  Reload is off (--no-reload).\n  Started in 88 ms. Press Ctrl+C to stop.");
  });

  it("prints a reload: the Reloaded line, + and - routes, then issues and conflicts", () => {
    const { events, printed, logger } = setUp();
    events.emit("reloadFinished", { ok: true, paths: ["a.ts", "b.ts", "c.ts", "d.ts", "e.ts"], durationMs: 41.6, generation: 3, routes: 2, added: ["POST /a/run_sync"], removed: ["GET /b/x"] });
    events.emit("discovered", {
      phase: "reload",
      generation: 3,
      functions: 2,
      issues: [{ code: "FUNCTION_LOAD_FAILED", file: "worker.ts", line: 5, column: 27, message: "Unexpected \";\"" }],
      conflicts: [{ name: "cpu", endpointName: "live-cpu", files: ["a.ts", "b.ts"] }],
    });
    expect(printed).toEqual(["Reloaded 2 route(s) in 42 ms (a.ts, b.ts, c.ts and 2 more changed)", "  + POST /a/run_sync", "  - GET /b/x"]);
    expect(logger.lines).toEqual([
      '✖ worker.ts:5:27: Unexpected ";"',
      '✖ two different configs are named "cpu" (a.ts and b.ts); they would share the endpoint live-cpu. Give them different names, or define the config once and import it.',
    ]);
    events.emit("reloadFinished", { ok: false, paths: ["a.ts"], durationMs: 7.2, error: new AppError("INTERNAL", "boom") });
    expect(logger.lines.at(-1)).toBe("✖ reload failed after 7 ms: boom; still serving the last good version");
  });

  it("prints .env changes", () => {
    const { events, printed } = setUp();
    events.emit("envChanged", { keys: ["GREETING"], restartsBackend: false, keyIgnored: false });
    events.emit("envChanged", { keys: ["RUNPOD_API_KEY"], restartsBackend: true, keyIgnored: true });
    expect(printed).toEqual([
      ".env changed (GREETING): reloading with the new values",
      ".env changed (RUNPOD_API_KEY): restarting the backend and reloading with the new values",
      "  RUNPOD_API_KEY is set now; this session stays on the local emulator (restart flash dev to use Runpod).",
    ]);
  });

  it("prints provisioning, orphans and the port notice", () => {
    const { events, printed, logger } = setUp();
    events.emit("provisionConfirm", { endpoints: [{ endpointName: "live-a", className: "CpuLiveServerless" }] });
    events.emit("provisionSkipped", { reason: "no-terminal", count: 6 });
    events.emit("provisionSkipped", { reason: "declined", count: 6 });
    events.emit("provisionStarted", { count: 2 });
    events.emit("provisionResult", { endpointName: "live-a", ok: true, outcome: "created", durationMs: 1500 });
    events.emit("provisionResult", { endpointName: "live-b", ok: false, error: new AppError("PROVISION_FAILED", "no capacity") });
    events.emit("provisionFinished", { durationMs: 2100, counts: { cached: 0, created: 1, updated: 0, adopted: 0, failed: 1 } });
    events.emit("orphansSkipped", {});
    events.emit("orphansDeleted", { deleted: ["live-old"], failed: [{ name: "live-stuck", error: new AppError("UPSTREAM_ERROR", "500") }] });
    events.emit("orphansFound", { names: ["live-x", "live-y"] });
    events.emit("portMoved", { requested: 8888, port: 8889 });
    expect(printed).toEqual([
      "Found 1 endpoints to provision:",
      "  • live-a (CpuLiveServerless)",
      "Not provisioning more than 5 endpoints without confirmation (no terminal to ask). Pass --yes to allow it; endpoints will be provisioned on their first call.",
      "Auto-provisioning cancelled; endpoints will be provisioned on their first call.",
      "Provisioning 2 endpoint(s)…",
      "  ✓ live-a created in 1.5 s",
      "⚠ Provisioning finished in 2.1 s: 1 created, 1 failed",
      "  Failed endpoints will be provisioned again on their first call.",
      "  Not looking for orphaned endpoints: some files failed to load.",
      "  deleted orphan live-old (its config is no longer in the code)",
      "Note: 2 endpoint(s) in .runpod/resources.json are no longer in the code: live-x, live-y. Start with --auto-provision to delete them.",
      "Port 8888 is in use, using 8889 instead.",
    ]);
    expect(logger.lines).toEqual(["  ✗ live-b: no capacity", "  could not delete orphan live-stuck: 500"]);
  });

  it("prints function and worker output with its endpoint, stderr as warnings", () => {
    const { events, logger } = setUp();
    const ref = { callId: 1, function: "a.ts#f", endpoint: "live-a", local: false };
    events.emit("callLogs", { ...ref, logs: [{ stream: "stdout", text: "one\n" }, { stream: "stderr", text: "two" }] });
    events.emit("workerOutput", { line: "[live-a] booted", stream: "stdout" });
    expect(logger.lines).toEqual(["[live-a] one", "[live-a] two", "[live-a] booted"]);
    const warnOnly = createMemoryLogger("warn");
    const e2 = new DevSessionEmitter();
    renderConsole(e2, { print: () => {}, logger: warnOnly });
    e2.emit("callLogs", { ...ref, logs: [{ stream: "stdout", text: "out" }, { stream: "stderr", text: "err" }] });
    expect(warnOnly.lines).toEqual(["[live-a] err"]);
  });

  it("prints what happens to endpoints on exit", () => {
    const { events, printed, logger } = setUp();
    events.emit("endpointsDeleted", { deleted: ["live-a"], failed: [{ name: "live-b", error: new AppError("UPSTREAM_ERROR", "gone") }] });
    events.emit("warmEndpointsKept", { endpoints: [{ name: "live-c", workersMin: 1 }] });
    events.emit("endpointReviewFailed", { error: new AppError("UPSTREAM_ERROR", "offline") });
    expect(printed).toEqual(["  deleted live-a"]);
    expect(logger.lines).toEqual([
      "  could not delete live-b: gone",
      "Kept endpoints with warm workers (they bill while idle): live-c (workersMin 1). Use --cleanup to delete this project's endpoints on exit, or flash undeploy <name> to delete one.",
      "could not review endpoints on exit: offline",
    ]);
  });

  it("prints nothing for state only machines need, and stops when unsubscribed", () => {
    const { events, printed, logger, off } = setUp();
    events.emit("reloadStarted", { paths: ["a.ts"] });
    events.emit("routesChanged", { generation: 2, added: ["POST /a"], removed: [], routes: 1 });
    events.emit("backendSwapped", { from: { kind: "local", description: "a" }, to: { kind: "local", description: "b" }, reason: "env" });
    events.emit("callStarted", { callId: 1, function: "a.ts#f", endpoint: "live-a", local: false });
    off();
    events.emit("portMoved", { requested: 1, port: 2 });
    expect(printed).toEqual([]);
    expect(logger.lines).toEqual([]);
  });
});
