/**
 * Messages between discovery and its export-reading worker thread. Types
 * only: the worker imports this file with `import type`, so nothing of it
 * exists at run time.
 */
import type { RemoteOptions } from "../sdk/registry.js";
import type { ResourceSpec } from "../sdk/resources.js";

/** Import one bundle and report its entry file's remote exports. */
export interface ReadRequest {
  id: number;
  /** file: URL of the bundle. */
  url: string;
  /** The bundle's entry file, project-relative. */
  file: string;
}

/** One remote export of an entry file, as plain data. */
export interface ReadExport {
  export: string;
  kind: "function" | "class";
  config: ResourceSpec;
  options: RemoteOptions;
  /** Public async methods (classes only). */
  methods?: string[];
  /** Creation order within the bundle (for stable diagnostics). */
  seq: number;
}

/** An error thrown while importing a bundle, flattened for postMessage. */
export interface LoadError {
  name: string;
  message: string;
  stack?: string;
  /** AppError code (e.g. INVALID_CONFIG) or Node error code (e.g. ERR_MODULE_NOT_FOUND). */
  code?: string;
  hint?: string;
}

export type ReadResultMessage =
  | {
      type: "result";
      id: number;
      ok: true;
      exports: ReadExport[];
      /** Union of the `dependencies` options of every remote function tagged in the bundle (any file). */
      bundleDependencies: string[];
      /** Remote functions the bundle created but never exported. */
      untagged: number;
    }
  | { type: "result"; id: number; ok: false; error: LoadError };

export type WorkerMessage = { type: "ready" } | { type: "warning"; message: string } | ReadResultMessage;
