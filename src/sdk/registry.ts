/**
 * The process-wide registry of remote functions, shared by user bundles, the
 * dev server and the worker runtime. It lives on globalThis under a
 * Symbol.for key so that every copy of this module in a process (there
 * should be one, but bundlers and symlinks are creative) sees the same state.
 *
 * Bundles built by flash-ts end every project file with a call to
 * `tagModule(namespace, file, import.meta.url)`: that is how a remote
 * function learns its identity (defining file + export name) and which loaded
 * bundle it came from, without anyone parsing source code.
 */
import type { ResourceConfig } from "./resources.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Options of remote(). */
export interface RemoteOptions {
  /** npm package specs installed on the worker (e.g. "sharp@0.34"). */
  dependencies?: string[];
  /** Load-balanced configs: the HTTP method of the route. */
  method?: HttpMethod;
  /** Load-balanced configs: the route path, e.g. "/process" or "/items/:id" (or "/items/{id}"). */
  path?: string;
  /** Run in the dev server process instead of on an endpoint. */
  local?: boolean;
}

/** What remote() attaches to the function (or class) it returns. */
export interface RemoteFunctionMeta {
  kind: "function";
  config: ResourceConfig;
  options: Readonly<RemoteOptions>;
  /** The user's function, as written. */
  fn: (...args: never[]) => unknown;
  /** Sequence number in creation order (diagnostics). */
  seq: number;
}

export interface RemoteClassMeta {
  kind: "class";
  config: ResourceConfig;
  options: Readonly<RemoteOptions>;
  /** The user's class, as written. */
  cls: abstract new (...args: never[]) => unknown;
  /** Public async methods exposed as remote calls. */
  methods: readonly string[];
  seq: number;
}

export type RemoteMeta = RemoteFunctionMeta | RemoteClassMeta;

/** Where a remote function is defined and which loaded bundle the copy came from. */
export interface RemoteIdentity {
  file: string;
  export: string;
  /** `import.meta.url` of the bundle that contains this copy. */
  bundleUrl: string;
}

/** One call to dispatch, as the SDK hands it to the active dispatcher. */
export interface RemoteCall {
  identity: RemoteIdentity;
  meta: RemoteMeta;
  /** For classes: the method called. */
  method?: string;
  args: unknown[];
  /** For classes: the instance id and the constructor arguments. */
  instance?: { id: string; args: unknown[] };
}

/** Sends remote calls somewhere: the dev server's backend, or (inside a worker) another endpoint. */
export interface Dispatcher {
  call(call: RemoteCall): Promise<unknown>;
}

export const REMOTE_META = Symbol.for("flash-ts.remote");

export interface TaggedExport {
  file: string;
  export: string;
  value: unknown;
  meta: RemoteMeta;
}

export interface Registry {
  /** Records the exports of one project file in one bundle. Called by bundles. */
  tagModule(namespace: Record<string, unknown>, file: string, bundleUrl: string): void;
  /**
   * Records a module whose exports may not be initialised yet: a script run by
   * `flash run` calls its own remote functions from its top level, before the
   * tag appended to its end has run. identify() tags it again when it meets a
   * value it does not know; the module's own tag ends that.
   */
  deferTag(namespace: Record<string, unknown>, file: string, bundleUrl: string): void;
  /** The identity of a remote function or class, if its module was tagged. */
  identify(value: object): RemoteIdentity | undefined;
  /** Remote exports of every file tagged by a bundle, in tagging order. */
  exportsOf(bundleUrl: string): TaggedExport[];
  /** Looks up one remote export of a bundle. */
  lookup(bundleUrl: string, file: string, exportName: string): TaggedExport | undefined;
  /** Remote functions created by a bundle's code but never exported (so they can have no route). */
  untaggedCount(): number;
  /** Forgets a bundle (after its generation is gone). */
  forgetBundle(bundleUrl: string): void;
  dispatcher: Dispatcher | undefined;
  /** Internal: next sequence number. */
  nextSeq(): number;
  /** Internal: every wrapper created, weakly held. */
  noteCreated(value: object): void;
}

const REGISTRY_KEY = Symbol.for("flash-ts.registry");
/** Deferred modules kept at once (a process runs one script; this only bounds misuse). */
const MAX_DEFERRED = 16;

function createRegistry(): Registry {
  const identities = new WeakMap<object, RemoteIdentity>();
  const bundles = new Map<string, TaggedExport[]>();
  const deferred: { namespace: Record<string, unknown>; file: string; bundleUrl: string }[] = [];
  let seq = 0;
  let created = 0;
  let tagged = 0;
  /** Tags the remote exports of one file's namespace; what is known or not initialised yet is skipped. */
  const tag = (namespace: Record<string, unknown>, file: string, bundleUrl: string): void => {
    let list = bundles.get(bundleUrl);
    if (!list) bundles.set(bundleUrl, (list = []));
    for (const exportName of Object.keys(namespace)) {
      let value: unknown;
      try {
        value = namespace[exportName];
      } catch {
        continue; // an export still in its temporal dead zone
      }
      if ((typeof value !== "function" && typeof value !== "object") || value === null) continue;
      const meta = (value as { [REMOTE_META]?: RemoteMeta })[REMOTE_META];
      if (!meta) continue;
      // First tag wins: a re-export in another file does not move a function's home.
      if (identities.has(value)) continue;
      identities.set(value, { file, export: exportName, bundleUrl });
      tagged++;
      list.push({ file, export: exportName, value, meta });
    }
  };
  return {
    dispatcher: undefined,
    nextSeq: () => ++seq,
    noteCreated: () => {
      created++;
    },
    untaggedCount: () => Math.max(0, created - tagged),
    tagModule(namespace, file, bundleUrl) {
      // The module finished loading: its deferred entry has done its job.
      const at = deferred.findIndex((d) => d.file === file && d.bundleUrl === bundleUrl);
      if (at >= 0) deferred.splice(at, 1);
      tag(namespace, file, bundleUrl);
    },
    deferTag(namespace, file, bundleUrl) {
      if (deferred.length >= MAX_DEFERRED) deferred.shift();
      deferred.push({ namespace, file, bundleUrl });
    },
    identify(value) {
      const known = identities.get(value);
      if (known || deferred.length === 0) return known;
      // Exports initialised since the module was deferred.
      for (const d of deferred) tag(d.namespace, d.file, d.bundleUrl);
      return identities.get(value);
    },
    exportsOf: (bundleUrl) => [...(bundles.get(bundleUrl) ?? [])],
    lookup: (bundleUrl, file, exportName) =>
      bundles.get(bundleUrl)?.find((entry) => entry.file === file && entry.export === exportName),
    forgetBundle: (bundleUrl) => {
      bundles.delete(bundleUrl);
    },
  };
}

/** The registry of this process (created on first use). */
export function getRegistry(): Registry {
  const holder = globalThis as unknown as { [REGISTRY_KEY]?: Registry };
  return (holder[REGISTRY_KEY] ??= createRegistry());
}

/** Installs the dispatcher remote calls go to; returns a function that restores the previous one. */
export function setDispatcher(dispatcher: Dispatcher | undefined): () => void {
  const registry = getRegistry();
  const previous = registry.dispatcher;
  registry.dispatcher = dispatcher;
  return () => {
    registry.dispatcher = previous;
  };
}

/** The remote metadata of a value returned by remote(), or undefined. */
export function getRemoteMeta(value: unknown): RemoteMeta | undefined {
  if ((typeof value !== "function" && typeof value !== "object") || value === null) return undefined;
  return (value as { [REMOTE_META]?: RemoteMeta })[REMOTE_META];
}
