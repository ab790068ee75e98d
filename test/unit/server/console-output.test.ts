import { describe, expect, it } from "vitest";
import { createMemoryLogger } from "../../../src/common/logger.js";
import { formatRouteTable } from "../../../src/server/route-banner.js";
import { formatRequestLine, logRequest } from "../../../src/server/request-log.js";
import type { RequestLogRecord } from "../../../src/server/request-log.js";
import { createRouteGeneration } from "../../../src/server/route-generation.js";
import { lbEntry, manifestOf, qbEntry } from "../../helpers/server-fixtures.js";

const base: RequestLogRecord = {
  time: new Date(2025, 0, 1, 12, 3, 4),
  method: "POST",
  path: "/gpu_worker/run_sync",
  endpointName: "live-gpu-worker",
  status: 200,
  durationMs: 142.6,
  requestId: "r",
  clientGone: false,
};

describe("request lines", () => {
  it("formats time, method, path, endpoint, status and duration", () => {
    expect(formatRequestLine(base)).toBe("12:03:04 POST /gpu_worker/run_sync → live-gpu-worker 200 143 ms");
    const { endpointName: _e, ...plain } = base;
    expect(formatRequestLine({ ...plain, method: "GET", path: "/nope", status: 404, errorCode: "ROUTE_NOT_FOUND" })).toBe(
      "12:03:04 GET /nope 404 143 ms ROUTE_NOT_FOUND",
    );
    expect(formatRequestLine({ ...base, status: 499, clientGone: true })).toContain("499 (client closed)");
  });

  it("chooses the level: 5xx warn, health checks debug, the rest info", () => {
    const logger = createMemoryLogger("info");
    logRequest(logger, { ...base, path: "/ping", method: "GET", status: 200 });
    expect(logger.lines).toEqual([]);
    logRequest(logger, base);
    logRequest(logger, { ...base, status: 500, errorCode: "FUNCTION_ERROR" });
    expect(logger.lines).toHaveLength(2);
    // The /docs page's background traffic: the document after each reload, the event stream when the tab closes.
    logRequest(logger, { ...base, path: "/openapi.json", method: "GET", status: 200 });
    logRequest(logger, { ...base, path: "/__flash/events", method: "GET", status: 499, clientGone: true });
    expect(logger.lines).toHaveLength(2);
    const warnOnly = createMemoryLogger("warn");
    logRequest(warnOnly, base);
    logRequest(warnOnly, { ...base, status: 502 });
    expect(warnOnly.lines).toHaveLength(1);
  });
});

describe("formatRouteTable", () => {
  it("lists method, path, endpoint and type, then the docs URL", () => {
    const gen = createRouteGeneration(
      manifestOf([qbEntry("gpu_worker.ts", "hello", { resource: "gpu-worker" }), lbEntry("lb_worker.ts", "health", "GET", "/health", { local: true })]),
    );
    const text = formatRouteTable(gen.routes, "http://localhost:8888/");
    expect(text.split("\n")).toEqual([
      "Flash Dev Server  http://localhost:8888",
      "",
      "  METHOD  PATH                  ENDPOINT         TYPE",
      "  POST    /gpu_worker/run_sync  live-gpu-worker  QB",
      "  GET     /lb_worker/health     live-lb-worker   LB local",
      "",
      "  Docs: http://localhost:8888/docs",
    ]);
  });

  it("says so when nothing is served", () => {
    expect(formatRouteTable([], "http://127.0.0.1:9000")).toContain("No remote functions are served yet.");
  });
});
