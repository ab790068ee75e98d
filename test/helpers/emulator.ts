/**
 * Helpers for tests that run a real emulator on 127.0.0.1:0: start/stop with
 * quick timings, JSON requests, REST v2 endpoint creation, worker pids.
 */
import { join } from "node:path";
import { afterEach } from "vitest";
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from "../../src/emulator/index.js";
import type { Endpoint } from "../../src/runpod/wire-types.js";
import { createMemoryLogger } from "../../src/common/logger.js";
import { FIXTURES as TEST_FIXTURES } from "./paths.js";

export const FIXTURES = join(TEST_FIXTURES, "emulator");
/** A generic start command: a Node script speaking the worker protocol (or serving HTTP for LB). */
export const FAKE_WORKER_COMMAND = `node ${JSON.stringify(join(FIXTURES, "fake-worker.mjs"))}`;

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

/**
 * For files whose tests each start their own emulator: call at the file's top
 * level; every emulator the returned function starts is closed after its test.
 * (After-hooks run last-registered first: register clean-ups that must follow
 * the close, such as removing a state folder, before calling this.)
 */
export function emulatorPerTest(): (options?: EmulatorOptions) => Promise<TestEmulator> {
  const open: TestEmulator[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });
  return async (options = {}) => {
    const t = await useEmulator(options);
    open.push(t);
    return t;
  };
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

/** Pids of the worker processes of an emulator (all endpoints). */
export function workerPids(emulator: EmulatorHandle): number[] {
  return emulator
    .state()
    .endpoints.flatMap((e) => e.workers)
    .map((w) => w.pid)
    .filter((pid): pid is number => pid !== undefined);
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
