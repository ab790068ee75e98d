/**
 * One generation of function routes: a manifest compiled into patterns. A
 * generation is immutable; reloads build a new one and the route table swaps
 * the reference, so a request that captured a generation keeps a consistent
 * view (its entry, its manifest) for its whole life.
 */
import type { DiscoveryIssue, FunctionEntry, Manifest } from "../discovery/manifest.js";
import type { HttpMethod } from "../sdk/registry.js";
import { compilePath, matchPattern, splitPath, toRequestSegments } from "./route-matcher.js";
import type { PathPattern } from "./route-matcher.js";

/** A function route as shown in the banner and the docs. */
export interface RouteInfo {
  method: HttpMethod;
  /** The primary path (`/gpu_worker/run_sync`, `/lb/items/:id`). */
  path: string;
  /** Other paths serving the same function (`/gpu_worker/runsync`). */
  aliases: readonly string[];
  kind: "QB" | "LB";
  /** `live-<name>`. */
  endpointName: string;
  local: boolean;
  /** Defining file, relative to the project root. */
  file: string;
  entry: FunctionEntry;
}

/** One servable (method, pattern) pair; aliases compile to their own CompiledRoute. */
export interface CompiledRoute {
  method: HttpMethod;
  pattern: PathPattern;
  alias: boolean;
  route: RouteInfo;
}

/** The result of looking a request up in a generation. */
export type RouteLookup =
  | { kind: "found"; route: CompiledRoute; params: Record<string, string> }
  | { kind: "method-not-allowed"; allow: HttpMethod[] }
  | { kind: "not-found" };

export interface RouteGeneration {
  /** `manifest.generation`. */
  readonly id: number;
  readonly manifest: Manifest;
  /** Served routes in manifest order. */
  readonly routes: readonly RouteInfo[];
  readonly compiled: readonly CompiledRoute[];
  /** The manifest's issues plus routes this server could not serve (collisions with built-in or other routes). */
  readonly issues: readonly DiscoveryIssue[];
  /** Looks a request up; `HEAD` is treated as `GET`. */
  lookup(method: string, path: string): RouteLookup;
}

/** Options of {@link createRouteGeneration}. */
export interface RouteGenerationOptions {
  /**
   * Paths the server serves itself (a function route matching one is dropped and reported).
   * @default BUILT_IN_PATHS
   */
  reservedPaths?: readonly string[];
  /**
   * Path prefixes the server keeps for itself.
   * @default BUILT_IN_PREFIXES
   */
  reservedPrefixes?: readonly string[];
}

/** Paths the dev server answers itself; a function route on one of them is not served. */
export const BUILT_IN_PATHS: readonly string[] = ["/", "/ping", "/docs", "/openapi.json"];
/** Path prefixes the dev server keeps for itself (the docs page's assets). */
export const BUILT_IN_PREFIXES: readonly string[] = ["/__flash/"];

const METHOD_ORDER: readonly HttpMethod[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

function collision(entry: FunctionEntry, message: string, related?: string): DiscoveryIssue {
  const issue: DiscoveryIssue = { code: "ROUTE_COLLISION", file: entry.file, message };
  if (related) issue.related = [related];
  return issue;
}

/** Compiles a manifest into a generation. Never throws on route problems: they become issues. */
export function createRouteGeneration(manifest: Manifest, options: RouteGenerationOptions = {}): RouteGeneration {
  const reserved = (options.reservedPaths ?? BUILT_IN_PATHS).map((p) => splitPath(p));
  const reservedPrefixes = options.reservedPrefixes ?? BUILT_IN_PREFIXES;
  const issues: DiscoveryIssue[] = [...manifest.issues];
  const routes: RouteInfo[] = [];
  const compiled: CompiledRoute[] = [];
  const taken = new Map<string, FunctionEntry>();

  for (const entry of manifest.functions) {
    const info: RouteInfo = {
      method: entry.route.method,
      path: entry.route.path,
      aliases: [...entry.route.aliases],
      kind: entry.kind,
      endpointName: entry.config.endpointName,
      local: entry.local,
      file: entry.file,
      entry,
    };
    const candidates = [entry.route.path, ...entry.route.aliases].map((path, i) => ({ path, alias: i > 0, pattern: compilePath(path) }));
    let problem: DiscoveryIssue | undefined;
    for (const c of candidates) {
      const shadowsBuiltIn =
        reserved.some((segments) => matchPattern(c.pattern, segments) !== undefined) ||
        reservedPrefixes.some((prefix) => c.path.startsWith(prefix));
      if (shadowsBuiltIn) {
        problem = collision(entry, `${entry.route.method} ${c.path} (${entry.id}) is a path the dev server uses itself; rename the file or the route`);
        break;
      }
      const other = taken.get(`${entry.route.method} ${c.pattern.shapeKey}`);
      if (other) {
        problem = collision(entry, `${entry.route.method} ${c.path} (${entry.id}) is already served by ${other.id}`, other.file);
        break;
      }
    }
    if (problem) {
      issues.push(problem);
      continue;
    }
    for (const c of candidates) {
      taken.set(`${entry.route.method} ${c.pattern.shapeKey}`, entry);
      compiled.push({ method: entry.route.method, pattern: c.pattern, alias: c.alias, route: info });
    }
    routes.push(info);
  }

  const lookup = (method: string, path: string): RouteLookup => {
    const wanted = method === "HEAD" ? "GET" : method;
    const segments = toRequestSegments(path);
    let best: { route: CompiledRoute; params: Record<string, string>; score: string } | undefined;
    const allow = new Set<HttpMethod>();
    for (const route of compiled) {
      const m = matchPattern(route.pattern, segments);
      if (!m) continue;
      allow.add(route.method);
      if (route.method === wanted && (!best || m.score > best.score)) best = { route, params: m.params, score: m.score };
    }
    if (best) return { kind: "found", route: best.route, params: best.params };
    if (allow.size > 0) return { kind: "method-not-allowed", allow: METHOD_ORDER.filter((m) => allow.has(m)) };
    return { kind: "not-found" };
  };

  return Object.freeze({ id: manifest.generation, manifest, routes, compiled, issues, lookup });
}
