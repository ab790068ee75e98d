/**
 * A module's npm dependencies: what the worker installs before importing it.
 * The union of the `dependencies` options of the module's remote functions
 * and every bare package the bundle imports that is installed in the project,
 * pinned to the installed version. `flash-ts` (the worker runtime provides
 * it) and node builtins are never listed.
 */
import { readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join } from "node:path";

/** A bare import of a bundle, as esbuild's metafile reports it. */
export interface ExternalImport {
  /** The package name (`@scope/name` or `name`), without subpath. */
  name: string;
  /** True when only `import()` reaches it (a missing package fails on call, not on load). */
  dynamicOnly: boolean;
}

const SELF_PACKAGE = "flash-ts";

/** The package name of a bare specifier, or undefined for relative, absolute, URL and builtin specifiers. */
export function packageNameOf(specifier: string): string | undefined {
  if (specifier === "" || specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("#")) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return undefined; // node:, data:, file:, http:
  if (isBuiltin(specifier)) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  if (isBuiltin(name)) return undefined;
  return name;
}

/** The name part of an npm spec (`sharp@0.34` → `sharp`, `@a/b@^1` → `@a/b`). */
export function specName(spec: string): string {
  const at = spec.indexOf("@", spec.startsWith("@") ? 1 : 0);
  return at === -1 ? spec : spec.slice(0, at);
}

/** Collects the bare packages among a bundle's external imports. */
export function collectExternalImports(imports: readonly { path: string; kind: string; external?: boolean }[]): ExternalImport[] {
  const byName = new Map<string, ExternalImport>();
  for (const imp of imports) {
    if (!imp.external) continue;
    const name = packageNameOf(imp.path);
    if (!name || name === SELF_PACKAGE) continue;
    const dynamic = imp.kind === "dynamic-import";
    const previous = byName.get(name);
    byName.set(name, { name, dynamicOnly: previous ? previous.dynamicOnly && dynamic : dynamic });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Looks up installed package versions the way Node resolves bare imports
 * from inside the project: `node_modules/<name>/package.json` in the root and
 * then each parent folder (workspaces hoist to the top). Results are cached
 * for the lifetime of the resolver (one discovery run).
 */
export function createVersionResolver(root: string): (name: string) => string | undefined {
  const cache = new Map<string, string | undefined>();
  return (name) => {
    if (cache.has(name)) return cache.get(name);
    let version: string | undefined;
    for (let dir = root; ; dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "node_modules", name, "package.json"), "utf8")) as { version?: unknown };
        if (typeof pkg.version === "string") {
          version = pkg.version;
          break;
        }
      } catch {
        // not installed at this level
      }
      if (dirname(dir) === dir) break;
    }
    cache.set(name, version);
    return version;
  };
}

/** The outcome of resolving one module's dependencies. */
export interface ModuleDependencies {
  /** npm specs, sorted by name; one per package. */
  specs: string[];
  /** Packages the bundle imports that are neither declared nor installed (the worker cannot load them). */
  missing: ExternalImport[];
}

/**
 * Merges declared specs with installed bare imports. A declared spec wins
 * over the installed pin for the same package: the user said which version
 * the worker needs.
 */
export function resolveModuleDependencies(
  declared: readonly string[],
  imports: readonly ExternalImport[],
  installedVersion: (name: string) => string | undefined,
): ModuleDependencies {
  const byName = new Map<string, string>();
  for (const imp of imports) {
    const version = installedVersion(imp.name);
    if (version !== undefined) byName.set(imp.name, `${imp.name}@${version}`);
  }
  for (const spec of declared) byName.set(specName(spec), spec);
  const missing = imports.filter((imp) => !byName.has(imp.name));
  const specs = [...byName.keys()].sort().map((name) => byName.get(name)!);
  return { specs, missing };
}
