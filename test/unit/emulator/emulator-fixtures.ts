/**
 * Helpers for tests that run a real emulator on 127.0.0.1:0: start/stop with
 * quick timings, JSON requests, REST v2 endpoint creation, and condition
 * polling (tests wait on conditions, never on fixed sleeps).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from "../../../src/emulator/index.js";
import type { Endpoint } from "../../../src/runpod/wire-types.js";
import { createMemoryLogger } from "../../../src/shared/logger.js";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const FIXTURES = join(REPO_ROOT, "test", "fixtures", "emulator");
/** A generic start command: a Node script speaking the worker protocol (or serving HTTP for LB). */
export const FAKE_WORKER_COMMAND = `node ${JSON.stringify(join(FIXTURES, "fake-worker.mjs"))}`;
export const CLI = join(REPO_ROOT, "dist", "cli", "index.js");

export interface TestEmulator {
  emulator: EmulatorHandle;
  url: string;
  logs: string[];
  /** fetch relative to the emulator URL, with the API key when one is configured. */
  fetch(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** fetch + JSON body + status check. */
  json<T = Record<string, unknown>>(path: string, init?: RequestInit & { json?: unknown }, status?: number): Promise<T>;
  /** Creates a QUEUE (default) endpoint through REST v2. */
  createEndpoint(body: Record<string, unknown>): Promise<Endpoint>;
  close(): Promise<void>;
}

export async function useEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const logger = createMemoryLogger("debug");
  const emulator = await startEmulator({
    logger,
    workerStopGraceMs: 2000,
    streamHoldMs: 1000,
    lbWorkerWaitMs: 20_000,
    webhookRetryDelayMs: 100,
    healthCheck: { bootIntervalMs: 50, readyIntervalMs: 500 },
    ...options,
  });
  const doFetch = (path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> => {
    const { json, headers, ...rest } = init;
    const h = new Headers(headers);
    if (options.apiKey && !h.has("authorization")) h.set("authorization", `Bearer ${options.apiKey}`);
    if (json !== undefined) h.set("content-type", "application/json");
    return fetch(emulator.url + path, { ...rest, headers: h, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  };
  const json = async <T,>(path: string, init: RequestInit & { json?: unknown } = {}, status = 200): Promise<T> => {
    const res = await doFetch(path, init);
    const text = await res.text();
    if (res.status !== status) throw new Error(`${init.method ?? "GET"} ${path}: expected ${status}, got ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    emulator,
    url: emulator.url,
    logs: logger.lines,
    fetch: doFetch,
    json,
    createEndpoint: (body) =>
      json<Endpoint>(
        "/v2/serverless",
        {
          method: "POST",
          json: {
            type: "QUEUE",
            scaling: body.type === "LOAD_BALANCER" ? { type: "REQUEST_COUNT", requestCount: 1 } : { type: "QUEUE_DELAY", queueDelay: 4 },
            image: "node:24-bookworm-slim",
            cpu: [{ id: "cpu3c", vcpuCount: 2 }],
            ...body,
          },
        },
        201,
      ),
    close: () => emulator.close(),
  };
}

/** Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws with `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export { isAlive } from "../../helpers/processes.js";

/** Pids of the worker processes of an emulator (all endpoints). */
export function workerPids(emulator: EmulatorHandle): number[] {
  return emulator
    .state()
    .endpoints.flatMap((e) => e.workers)
    .map((w) => w.pid)
    .filter((pid): pid is number => pid !== undefined);
}

export function distBuilt(): boolean {
  return existsSync(CLI);
}

/** True while any process of the group led by `pid` exists (workers run in their own group). */
export function isGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The largest number of intervals running at the same instant (back-to-back ones do not overlap). */
export function maxOverlap(intervals: readonly { start: number; end: number }[]): number {
  const events = intervals.flatMap((i) => [
    { at: i.start, delta: 1 },
    { at: i.end, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const { delta } of events) max = Math.max(max, (current += delta));
  return max;
}
