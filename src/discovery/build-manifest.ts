/**
 * Routes from remote exports (README.md, "Routes"):
 *
 * - prefix = the file's path relative to the root without its extension
 *   (`workers/gpu/infer.ts` → `/workers/gpu/infer`, hyphens kept);
 * - QB: a file with exactly one QB callable → `POST /{prefix}/run_sync`
 *   (alias `/runsync`); several → `POST /{prefix}/{name}/run_sync`, where
 *   `name` is the export, or the method for an `@remote` class (one callable
 *   per public async method);
 * - LB: `{METHOD} /{prefix}{path}`, path parameters kept as `:name`.
 *
 * Two callables claiming the same method + path (primary or alias, QB or LB)
 * is a ROUTE_COLLISION naming both files, and the contested route is served
 * for neither: first-wins would make which function answers depend on file
 * order.
 */
import type { HttpMethod } from "../sdk/registry.js";
import type { DiscoveryIssue, FunctionEntry } from "./manifest.js";
import type { ReadExport } from "./read-exports-protocol.js";

/** The remote exports of one entry file that loaded. */
export interface LoadedModule {
  file: string;
  exports: readonly ReadExport[];
}

/** The route prefix of a project file: `/` + path without extension. */
export function routePrefix(file: string): string {
  return "/" + file.replace(/\.[^./]+$/, "");
}

function joinRoute(prefix: string, path: string): string {
  const joined = path === "/" ? prefix : prefix + path;
  return joined.length > 1 && joined.endsWith("/") ? joined.slice(0, -1) : joined;
}

/** Equal for two paths that match the same requests (`/a/:x` and `/a/:y`; a trailing slash ignored). */
function shapeKey(method: HttpMethod, path: string): string {
  const segments = path
    .split("/")
    .filter((s) => s !== "")
    .map((s) => (/^(:[A-Za-z_$][\w$]*|\{[A-Za-z_$][\w$]*\})$/.test(s) ? "\u0000" : s));
  return `${method} /${segments.join("/")}`;
}

interface Callable {
  export: string;
  method?: string;
  item: ReadExport;
}

function entryFor(file: string, callable: Callable, route: FunctionEntry["route"]): FunctionEntry {
  const { item } = callable;
  const entry: FunctionEntry = {
    id: `${file}#${callable.export}${callable.method ? `.${callable.method}` : ""}`,
    file,
    export: callable.export,
    kind: item.config.kind,
    config: item.config,
    dependencies: [...(item.options.dependencies ?? [])],
    local: item.options.local ?? false,
    route,
  };
  if (callable.method) entry.method = callable.method;
  if (item.config.kind === "LB" && item.options.method && item.options.path) {
    entry.http = { method: item.options.method, path: item.options.path };
  }
  return entry;
}

/** The callables of one file with their routes, before collision checks. */
function routesOfModule(module: LoadedModule): FunctionEntry[] {
  const prefix = routePrefix(module.file);
  const qb: Callable[] = [];
  const entries: FunctionEntry[] = [];
  for (const item of [...module.exports].sort((a, b) => a.seq - b.seq)) {
    if (item.kind === "class") {
      for (const method of item.methods ?? []) qb.push({ export: item.export, method, item });
    } else if (item.config.kind === "QB") {
      qb.push({ export: item.export, item });
    } else if (item.options.method && item.options.path) {
      const path = joinRoute(prefix, item.options.path);
      entries.push(entryFor(module.file, { export: item.export, item }, { method: item.options.method, path, aliases: [] }));
    }
  }
  for (const callable of qb) {
    const base = qb.length === 1 ? prefix : `${prefix}/${callable.method ?? callable.export}`;
    entries.push(entryFor(module.file, callable, { method: "POST", path: `${base}/run_sync`, aliases: [`${base}/runsync`] }));
  }
  return entries;
}

/** Orders entries by file, then route path, then method, then id. */
export function compareEntries(a: FunctionEntry, b: FunctionEntry): number {
  const keys: [string, string][] = [
    [a.file, b.file],
    [a.route.path, b.route.path],
    [a.route.method, b.route.method],
    [a.id, b.id],
  ];
  for (const [x, y] of keys) if (x !== y) return x < y ? -1 : 1;
  return 0;
}

/**
 * Builds the function entries of every loaded module, sorted, and the
 * collisions among them. Colliding primary routes drop the entry; a
 * colliding alias drops only that alias.
 */
export function buildFunctionEntries(modules: readonly LoadedModule[]): { functions: FunctionEntry[]; issues: DiscoveryIssue[] } {
  const all = modules.flatMap(routesOfModule).sort(compareEntries);
  const claims = new Map<string, { entry: FunctionEntry; path: string; alias: boolean }[]>();
  for (const entry of all) {
    const paths = [{ path: entry.route.path, alias: false }, ...entry.route.aliases.map((path) => ({ path, alias: true }))];
    for (const { path, alias } of paths) {
      const key = shapeKey(entry.route.method, path);
      const list = claims.get(key) ?? [];
      // An entry claiming one shape twice (path and alias) is not a collision with itself.
      if (!list.some((c) => c.entry === entry)) list.push({ entry, path, alias });
      claims.set(key, list);
    }
  }
  const dropped = new Set<FunctionEntry>();
  const droppedAliases = new Map<FunctionEntry, Set<string>>();
  const issues: DiscoveryIssue[] = [];
  const reported = new Set<string>();
  for (const list of claims.values()) {
    if (list.length < 2) continue;
    const files = [...new Set(list.map((c) => c.entry.file))];
    const who = list.map((c) => `${c.entry.id} (${c.entry.route.method} ${c.path}${c.alias ? ", alias" : ""})`).join(" and ");
    const issue: DiscoveryIssue = {
      code: "ROUTE_COLLISION",
      severity: "error",
      file: list[0]!.entry.file,
      message: `route collision: ${who} claim the same route; none of them is served there`,
      hint: "Rename one of the files, exports or LB paths so that each route is unique.",
    };
    if (files.length > 1) issue.related = files.slice(1);
    // A primary route and its alias colliding with the same entries is one problem, reported once.
    const parties = list.map((c) => c.entry.id).sort().join("\n");
    if (!reported.has(parties)) issues.push(issue);
    reported.add(parties);
    for (const claim of list) {
      if (!claim.alias) dropped.add(claim.entry);
      else {
        const set = droppedAliases.get(claim.entry) ?? new Set<string>();
        set.add(claim.path);
        droppedAliases.set(claim.entry, set);
      }
    }
  }
  const functions = all
    .filter((entry) => !dropped.has(entry))
    .map((entry) => {
      const gone = droppedAliases.get(entry);
      return gone ? { ...entry, route: { ...entry.route, aliases: entry.route.aliases.filter((a) => !gone.has(a)) } } : entry;
    });
  return { functions, issues };
}
