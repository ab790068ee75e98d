/**
 * Fakes of the outside parts of a dev session (src/dev/session-parts.ts): a
 * backend whose calls the test answers or holds, a watcher the test
 * triggers, and a discovery that serves manifests the test writes. The
 * server, the route table, the reload controller, the invoker and the
 * function-call client stay real.
 */
import { createHash } from "node:crypto";
import type { Backend } from "../../../src/dev/backend.js";
import type { Discovery } from "../../../src/discovery/discovery.js";
import type { DiscoveryIssue, FunctionEntry, Manifest, ModuleBundle } from "../../../src/discovery/manifest.js";
import type { ProvisionedEndpoint } from "../../../src/provision/provisioner.js";
import type { CachedEndpoint } from "../../../src/provision/resource-cache.js";
import type { ResourceSpec } from "../../../src/sdk/resources.js";
import { AppError } from "../../../src/common/errors.js";
import type { FunctionLog, FunctionRequest } from "../../../src/common/function-protocol.js";
import { decodeValue, encodeValue } from "../../../src/common/value-codec.js";
import type { JobState } from "../../../src/runpod/wire-types.js";
import type { FileChangeBatch, Watcher } from "../../../src/watch/types.js";

/** What a fake endpoint answers: the function's return value and its console output. */
export type FakeBehaviour = (request: FunctionRequest, args: unknown[]) => Promise<{ value: unknown; logs?: FunctionLog[] }> | { value: unknown; logs?: FunctionLog[] };

export interface FakeBackend extends Backend {
  closed: boolean;
  /** Requests received, in order. */
  requests: FunctionRequest[];
  /** Specs ensured, in order. */
  ensured: string[];
  /** Answers every call; default: `{ echo: <first argument>, export }`. */
  behaviour: FakeBehaviour;
  /** Endpoints the provisioner reports as cached (orphans are those not in the specs). */
  cached: CachedEndpoint[];
  /** When set, ensureEndpoint rejects with it. */
  provisionError?: AppError;
}

export function fakeBackend(description: string, kind: "local" | "runpod" = "local"): FakeBackend {
  let jobs = 0;
  const answer = async (request: FunctionRequest, signal: AbortSignal | undefined): Promise<unknown> => {
    backend.requests.push(request);
    const answered = Promise.resolve(backend.behaviour(request, request.args.map((a) => decodeValue(a))));
    // Like the real clients: a caller that gives up gets its signal's reason at once.
    const abandoned = new Promise<never>((_, reject) => {
      if (signal?.aborted) reject(signal.reason as Error);
      signal?.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
    });
    const { value, logs = [] } = await Promise.race([answered, abandoned]);
    return { flash: 1, ok: true, result: encodeValue(value), logs, durationMs: 1 };
  };
  const backend: FakeBackend = {
    kind,
    description,
    closed: false,
    requests: [],
    ensured: [],
    cached: [],
    behaviour: (request, args) => ({ value: { echo: args[0], export: request.target.export } }),
    clientEnv: {},
    provisioner: {
      ensureEndpoint: async (spec: ResourceSpec): Promise<ProvisionedEndpoint> => {
        backend.ensured.push(spec.name);
        if (backend.provisionError) throw backend.provisionError;
        return { name: spec.endpointName, id: `ep-${spec.name}`, kind: spec.kind };
      },
      ensureAll: async (specs) => specs.map((spec) => ({ spec, outcome: "created" as const, ms: 5 })),
      findOrphans: async (specs) => backend.cached.filter((c) => !specs.some((s) => s.endpointName === c.name)),
      deleteEndpoints: async (entries) => {
        backend.cached = backend.cached.filter((c) => !entries.includes(c));
        return { deleted: entries.map((e) => e.name), failed: [] };
      },
      cachedEndpoints: async () => backend.cached,
    },
    queue: {
      runToCompletion: async (_endpointId, request, options): Promise<JobState> => {
        const id = `job-${++jobs}`;
        options.onSubmitted?.({ id, status: "IN_QUEUE" });
        options.onStatus?.({ id, status: "IN_PROGRESS", delayTime: 1, executionTime: 0 });
        const output = await answer(request.input as FunctionRequest, options.signal);
        return { id, status: "COMPLETED", delayTime: 1, executionTime: 1, output };
      },
      // Jobs that stream nothing, on an endpoint whose workers are all idle.
      stream: async (_endpointId, jobId) => ({ id: jobId, status: "COMPLETED", stream: [] }),
      health: async () => ({
        jobs: { completed: 0, failed: 0, inProgress: 0, inQueue: 0, retried: 0 },
        workers: { idle: 1, initializing: 0, ready: 1, running: 0, throttled: 0, unhealthy: 0 },
      }),
    },
    loadBalancer: {
      request: async (_target, options) => ({ status: 200, headers: {}, body: await answer(options.json as FunctionRequest, options.signal) }),
    },
    loadBalancerUrl: (id) => `http://lb.invalid/${id}`,
    close: async () => {
      backend.closed = true;
    },
  };
  return backend;
}

/** A watcher whose changes the test makes. */
export class FakeWatcher implements Watcher {
  readonly mode = "native" as const;
  readonly ready = Promise.resolve();
  hotFiles: string[] = [];
  closed = false;
  readonly #listeners = new Set<(batch: FileChangeBatch) => void>();

  onChange(listener: (batch: FileChangeBatch) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  setHotFiles(relPaths: Iterable<string>): void {
    this.hotFiles = [...new Set(relPaths)];
  }

  stats() {
    return { mode: "native" as const, hotFiles: this.hotFiles.length, coldFiles: 3, directories: 1, hotIntervalMs: null, coldIntervalMs: null };
  }

  /** Reports a batch of changed paths, as the real watcher would after a save. */
  change(...paths: string[]): void {
    for (const listener of this.#listeners) listener({ paths, events: paths.map((path) => ({ path, kind: "change" as const })) });
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A discovery that serves the functions the test sets, as a new generation on every discover(). */
export class FakeDiscovery implements Discovery {
  functions: FunctionEntry[] = [];
  issues: DiscoveryIssue[] = [];
  /** When set, the next discover() rejects with it (once). */
  failNext: AppError | undefined;
  /** Paths asked for, per discover() call (`undefined`: a full scan). */
  readonly asked: (readonly string[] | undefined)[] = [];
  invalidated = 0;
  closed = false;
  #generation = 0;

  constructor(functions: FunctionEntry[] = []) {
    this.functions = functions;
  }

  async discover(changedPaths?: readonly string[]): Promise<Manifest> {
    this.asked.push(changedPaths);
    if (this.closed) throw new AppError("DISPOSED", "discovery is closed");
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    const generation = ++this.#generation;
    const modules: Record<string, ModuleBundle> = {};
    for (const fn of this.functions) {
      const code = `// ${fn.file} generation ${generation}`;
      modules[fn.file] = {
        file: fn.file,
        hash: createHash("sha256").update(code).digest("hex"),
        code,
        path: `/fake/${fn.file}.mjs`,
        url: `file:///fake/${fn.file}.${generation}.mjs`,
        dependencies: [],
        inputs: [fn.file],
      };
    }
    const files = [...new Set(this.functions.map((f) => f.file))];
    return { generation, functions: [...this.functions], modules, issues: [...this.issues], candidates: files, watchedInputs: files };
  }

  scannedFiles(): string[] {
    return [...new Set(this.functions.map((f) => f.file))].sort();
  }

  isIgnored(): boolean {
    return false;
  }

  /** Every route may be affected: requests wait for each reload, as they did before scoping. */
  affectedRoutes(): "all" {
    return "all";
  }

  invalidate(): void {
    this.invalidated++;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
