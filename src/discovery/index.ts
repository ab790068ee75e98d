/**
 * Discovery: project files → bundles → manifest (routes, configs, bundles),
 * incrementally, without ever running a remote function's body.
 *
 *   const discovery = createDiscovery({ root, logger });
 *   let manifest = await discovery.discover();              // full scan
 *   manifest = await discovery.discover(["workers/gpu.ts"]); // after a save
 *   await discovery.close();
 *
 * See docs/internals.md ("Remote functions and their identity", "Bundles").
 */
export { createDiscovery } from "./discovery.js";
export type { Discovery, DiscoveryOptions } from "./discovery.js";
export type {
  DiscoveryIssue,
  DiscoveryIssueCode,
  DiscoveryStats,
  FunctionEntry,
  Manifest,
  ModuleBundle,
} from "./manifest.js";
export { errorIssues, remoteSpecs } from "./manifest.js";
export { routePrefix } from "./build-manifest.js";
export { loadIgnoreRules, isSourceFileName, ALWAYS_SKIPPED_DIRS } from "./ignore-rules.js";
export type { IgnoreRules } from "./ignore-rules.js";
export { toProjectStack, locateInStack } from "./stack-paths.js";
export type { ProjectLocation } from "./stack-paths.js";
