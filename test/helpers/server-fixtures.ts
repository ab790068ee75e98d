/**
 * Shared test fixtures for the dev server: manifests built by hand (no
 * discovery), a fake invoker that records calls and can be scripted, and a
 * helper that starts the real app on 127.0.0.1 port 0.
 */
import type { FunctionEntry, Manifest, DiscoveryIssue } from "../../src/discovery/manifest.js";
import type { HttpMethod } from "../../src/sdk/registry.js";
import type { ResourceSpec } from "../../src/sdk/resources.js";
import { createMemoryLogger } from "../../src/common/logger.js";
import type { Logger } from "../../src/common/logger.js";
import { createDevApp } from "../../src/server/create-dev-app.js";
import type { DevAppOptions } from "../../src/server/create-dev-app.js";
import type { FunctionInvoker, InvokeContext, InvokeResult } from "../../src/server/invoker.js";
import { RouteTable } from "../../src/server/route-table.js";
import type { RouteTableOptions } from "../../src/server/route-table.js";
import { startHttpServer } from "../../src/server/start-http-server.js";
import type { RequestTimeouts } from "../../src/common/body-limits.js";
import type { RequestLogRecord } from "../../src/server/request-log.js";

function spec(name: string, kind: "QB" | "LB"): ResourceSpec {
  return {
    name,
    endpointName: `live-${name}`,
    kind,
    compute: "CPU",
    className: kind === "QB" ? "CpuLiveServerless" : "CpuLiveLoadBalancer",
    workersMin: 0,
    workersMax: 1,
    idleTimeout: 60,
    executionTimeoutMs: 600_000,
    env: {},
    scalerType: kind === "QB" ? "QUEUE_DELAY" : "REQUEST_COUNT",
    scalerValue: 4,
    instanceIds: ["cpu3g-2-8"],
  };
}

const prefixOf = (file: string): string => "/" + file.replace(/\.(?:[cm]?[jt]s)$/, "");

/** A QB entry; `many` gives the `/<prefix>/<export>/run_sync` form. */
export function qbEntry(file: string, exportName: string, options: { many?: boolean; local?: boolean; resource?: string } = {}): FunctionEntry {
  const base = options.many ? `${prefixOf(file)}/${exportName}` : prefixOf(file);
  return {
    id: `${file}#${exportName}`,
    file,
    export: exportName,
    kind: "QB",
    config: spec(options.resource ?? "qb-worker", "QB"),
    dependencies: [],
    local: options.local ?? false,
    route: { method: "POST", path: `${base}/run_sync`, aliases: [`${base}/runsync`] },
  };
}

/** An LB entry for `method path` (path params as `:name`). */
export function lbEntry(file: string, exportName: string, method: HttpMethod, path: string, options: { local?: boolean; resource?: string } = {}): FunctionEntry {
  return {
    id: `${file}#${exportName}`,
    file,
    export: exportName,
    kind: "LB",
    config: spec(options.resource ?? "lb-worker", "LB"),
    dependencies: [],
    local: options.local ?? false,
    route: { method, path: `${prefixOf(file)}${path}`, aliases: [] },
    http: { method, path },
  };
}

/** A manifest of the given functions. */
export function manifestOf(functions: FunctionEntry[], generation = 1, issues: DiscoveryIssue[] = []): Manifest {
  return { generation, functions, modules: {}, issues, candidates: [], watchedInputs: [] };
}

/** The functions most tests serve. */
export function standardFunctions(): FunctionEntry[] {
  return [
    qbEntry("gpu_worker.ts", "gpuHello", { resource: "gpu-worker" }),
    qbEntry("multi.ts", "first", { many: true, resource: "multi" }),
    qbEntry("multi.ts", "second", { many: true, resource: "multi" }),
    lbEntry("lb_worker.ts", "processItem", "POST", "/process"),
    lbEntry("lb_worker.ts", "health", "GET", "/health"),
    lbEntry("lb_worker.ts", "getItem", "GET", "/items/:id"),
    lbEntry("lb_worker.ts", "newItem", "GET", "/items/new"),
    lbEntry("lb_worker.ts", "putItem", "PUT", "/items/:id"),
    lbEntry("lb_worker.ts", "patchItem", "PATCH", "/items/:id"),
    lbEntry("lb_worker.ts", "deleteItem", "DELETE", "/items/:id"),
    lbEntry("lb_worker.ts", "purge", "DELETE", "/purge"),
    lbEntry("lb_worker.ts", "nothing", "GET", "/nothing"),
    lbEntry("tools/local.ts", "localEcho", "POST", "/echo", { local: true, resource: "local-tools" }),
  ];
}

export interface RecordedCall {
  entry: FunctionEntry;
  input: unknown;
  ctx: InvokeContext;
}

export type InvokeBehaviour = (entry: FunctionEntry, input: unknown, ctx: InvokeContext) => Promise<InvokeResult>;

/** Echoes `{ fn, generation, input }` unless a behaviour is set for the export name. */
export class FakeInvoker implements FunctionInvoker {
  readonly calls: RecordedCall[] = [];
  readonly behaviours = new Map<string, InvokeBehaviour>();

  async invoke(entry: FunctionEntry, input: unknown, ctx: InvokeContext): Promise<InvokeResult> {
    this.calls.push({ entry, input, ctx });
    const behaviour = this.behaviours.get(entry.export);
    if (behaviour) return behaviour(entry, input, ctx);
    return { output: { fn: entry.id, generation: ctx.manifest.generation, input }, jobId: `job-${this.calls.length}` };
  }
}

export interface TestServer {
  url: string;
  routes: RouteTable;
  invoker: FakeInvoker;
  logger: Logger & { lines: string[] };
  records: RequestLogRecord[];
  close(): Promise<void>;
  /** fetch relative to the server. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** POST a JSON value (or raw string) and return status + parsed body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown; headers: Headers }>;
}

export interface TestServerOptions extends Partial<Omit<DevAppOptions, "routes" | "invoker" | "logger">> {
  /** Loaded before the server starts; `null` leaves the table empty. */
  manifest?: Manifest | null;
  table?: RouteTableOptions;
  /** Record request lines instead of logging them. */
  recordRequests?: boolean;
  /** Where the server logs (default: a memory logger at debug level, as `logger`). */
  logger?: Logger;
  /** The server's request timeouts (default: the shared ones). */
  requestTimeouts?: RequestTimeouts;
}

/** Starts the real app on 127.0.0.1:0 with a fake invoker. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const routes = new RouteTable(options.table);
  if (options.manifest !== null) routes.load(options.manifest ?? manifestOf(standardFunctions()));
  const invoker = new FakeInvoker();
  const logger = createMemoryLogger("debug");
  const records: RequestLogRecord[] = [];
  const { manifest: _m, table: _t, recordRequests, logger: appLogger, requestTimeouts, ...appOptions } = options;
  const app = createDevApp({
    ...appOptions,
    routes,
    invoker,
    logger: appLogger ?? logger,
    ...(recordRequests ? { onRequestLog: (r: RequestLogRecord) => records.push(r) } : {}),
  });
  const server = await startHttpServer(app, { host: "127.0.0.1", port: 0, closeGraceMs: 200, ...(requestTimeouts ? { requestTimeouts } : {}) });
  const doFetch = (path: string, init?: RequestInit): Promise<Response> => fetch(`${server.url}${path}`, init);
  return {
    url: server.url,
    routes,
    invoker,
    logger,
    records,
    close: server.close,
    fetch: doFetch,
    async post(path, body, headers = {}) {
      const res = await doFetch(path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: res.headers };
    },
  };
}

/** A promise with its resolve function, for holding a fake call open. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
