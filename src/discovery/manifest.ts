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

/**
 * - FUNCTION_LOAD_FAILED: the file did not build or its module did not load
 *   (syntax error, unresolved import, top-level throw, top level that hangs);
 *   none of its functions is served.
 * - INVALID_CONFIG: a resource config or remote() option is invalid (thrown
 *   while the module loaded); none of the file's functions is served.
 * - ROUTE_COLLISION: two callables claim one route; that route is not served.
 * - UNEXPORTED_REMOTE (warning): remote functions created but never
 *   exported; they have no route.
 * - DEPENDENCY_NOT_INSTALLED (warning): a package only `import()`ed inside
 *   function bodies is neither installed nor declared, so the worker cannot
 *   load it.
 */
export type DiscoveryIssueCode = "FUNCTION_LOAD_FAILED" | "ROUTE_COLLISION" | "INVALID_CONFIG" | "UNEXPORTED_REMOTE" | "DEPENDENCY_NOT_INSTALLED";

/** A problem with one file: it is reported and the rest keep serving. */
export interface DiscoveryIssue {
  code: DiscoveryIssueCode;
  /** `error`: something is not served. `warning`: served, but probably not as meant. Absent means error. */
  severity?: "error" | "warning";
  /** The file at fault, relative to the project root. */
  file: string;
  /** 1-based. */
  line?: number;
  /** 1-based. */
  column?: number;
  message: string;
  /** What to do about it. */
  hint?: string;
  /** Load errors: the stack, with frames in project files shown as `workers/boom.ts:7:11`. */
  stack?: string;
  /** Other files involved (the other side of a collision; the candidate whose bundle failed when the fault is in a file it imports). */
  related?: string[];
}

/** What one discovery run did, for the reload log line. */
export interface DiscoveryStats {
  /** Wall time of the run. */
  durationMs: number;
  /** Candidate files whose bundle was rebuilt. */
  rebuilt: string[];
  /** Bundles imported to read their exports (new code). */
  reloaded: string[];
  /** True when the run rescanned the whole tree. */
  fullScan: boolean;
}

export interface Manifest {
  /** Increases by one with every discovery run. */
  generation: number;
  functions: FunctionEntry[];
  /** Bundles by entry file: every file that built and loaded and defines at least one remote function. */
  modules: Record<string, ModuleBundle>;
  issues: DiscoveryIssue[];
  /** Files that were scanned as candidates (their text mentions `remote` or `Endpoint`). */
  candidates: string[];
  /** Every project file the served code depends on (bundle inputs and candidates), for the watcher. */
  watchedInputs: string[];
  /** Present on manifests built by discovery. */
  stats?: DiscoveryStats;
  /**
   * Files that had routes and look empty, or without remote functions, since
   * moments ago (an in-place save half done): their last good version is
   * served. Discover them again after `recheckInMs`; if they have not changed
   * by then, they lose their routes.
   */
  unsettled?: { files: string[]; recheckInMs: number };
}

/**
 * The configs of the remote functions, one per name, sorted by name: the
 * endpoints the code needs. Local functions have none.
 */
export function remoteSpecs(manifest: Pick<Manifest, "functions">): ResourceSpec[] {
  const specs = new Map<string, ResourceSpec>();
  for (const fn of manifest.functions) if (!fn.local) specs.set(fn.config.name, fn.config);
  return [...specs.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The issues that are errors (a file that did not load, a bad config); warnings left out. */
export function errorIssues(manifest: Pick<Manifest, "issues">): DiscoveryIssue[] {
  return manifest.issues.filter((issue) => (issue.severity ?? "error") === "error");
}
