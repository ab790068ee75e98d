/**
 * What discovery produces and the dev server serves: one entry per callable
 * remote function (a class contributes one per public async method), the
 * bundle of each file that defines some, and the problems found.
 */
import type { HttpMethod } from "../sdk/registry.js";
import type { ResourceSpec } from "../sdk/resources.js";

/** One callable remote function. */
export interface FunctionEntry {
  /** Stable id: `<file>#<export>` or `<file>#<export>.<method>`. */
  id: string;
  /** Defining file, relative to the project root, `/` separators (e.g. `workers/gpu.ts`). */
  file: string;
  /** Export name in that file. */
  export: string;
  /** For `@remote` classes: the method. */
  method?: string;
  /** Queue-based or load-balanced (from the resource config). */
  kind: "QB" | "LB";
  /** The normalised resource config; `config.endpointName` is the endpoint (`live-<name>`). */
  config: ResourceSpec;
  /** npm specs from the function's `dependencies` option. */
  dependencies: string[];
  /** `local: true`: runs in the dev server process. */
  local: boolean;
  /** The dev server route. QB: POST `/<prefix>[/<name>]/run_sync` (alias `/runsync`); LB: `<method> /<prefix><path>`. */
  route: { method: HttpMethod; path: string; aliases: string[] };
  /** LB only: the method and path given to remote() (path params as `:name`). */
  http?: { method: HttpMethod; path: string };
}

/** The bundle of one project file, as written to disk and sent to workers. */
export interface ModuleBundle {
  /** The entry file, relative to the project root. */
  file: string;
  /** sha256 hex of `code`. */
  hash: string;
  /** The bundle text (ESM with an inline source map). */
  code: string;
  /** Absolute path of the bundle on disk. */
  path: string;
  /** file: URL of the bundle (what `import.meta.url` is inside it, and the registry's bundle key). */
  url: string;
  /** npm specs the worker installs for this module. */
  dependencies: string[];
  /** Project files (relative) the bundle was built from, the entry first. */
  inputs: string[];
}

export type DiscoveryIssueCode = "FUNCTION_LOAD_FAILED" | "ROUTE_COLLISION" | "INVALID_CONFIG";

/** A problem with one file: it is reported and the rest keep serving. */
export interface DiscoveryIssue {
  code: DiscoveryIssueCode;
  /** The file at fault, relative to the project root. */
  file: string;
  line?: number;
  column?: number;
  message: string;
  /** Other files involved (the other side of a collision). */
  related?: string[];
}

export interface Manifest {
  /** Increases by one with every discovery run. */
  generation: number;
  functions: FunctionEntry[];
  /** Bundles by entry file. */
  modules: Record<string, ModuleBundle>;
  issues: DiscoveryIssue[];
  /** Files that were scanned as candidates (their text mentions `remote`). */
  candidates: string[];
  /** Every project file the served code depends on (bundle inputs), for the watcher. */
  watchedInputs: string[];
}
