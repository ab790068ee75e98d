/**
 * The esbuild plugin that gives remote functions their identity: every
 * project file in a bundle gets, appended after its own code,
 *
 *   import * as __flash_self from "./<this file>";
 *   globalThis[Symbol.for("flash-ts.registry")]?.tagModule(__flash_self, "<file>", import.meta.url);
 *
 * so once the bundle is evaluated the registry knows, for each remote export,
 * its defining file and export name and which bundle the copy came from
 * (docs/internals.md, "Remote functions and their identity").
 *
 * The lines are appended, never prepended, so line numbers of the user's code
 * (and with them the source map) stay as written. The optional call keeps a
 * bundle loadable where no flash-ts registry exists.
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, relative, sep } from "node:path";
import type { Loader, Plugin } from "esbuild";

/** Files the plugin loads (and tags): everything esbuild would treat as JS/TS. */
const SCRIPT_FILE = /\.[cm]?[jt]sx?$/;

/** A top-level binding the bundle banner defines: the bundle's URL, for CommonJS files that cannot use import.meta. */
export const BUNDLE_URL_BINDING = "__flash_bundle_url";

/**
 * Code put at the top of every bundle: a real `require` (esbuild's shim for
 * `require()` in CommonJS project files throws in ESM output without one) and
 * the bundle URL for tagging CommonJS files.
 */
export const BUNDLE_BANNER = [
  'import { createRequire as __flash_create_require } from "node:module";',
  "const require = __flash_create_require(import.meta.url);",
  `const ${BUNDLE_URL_BINDING} = import.meta.url;`,
].join("\n");

function loaderFor(path: string): Loader {
  if (/\.[cm]?ts$/.test(path)) return "ts";
  if (path.endsWith(".tsx")) return "tsx";
  if (path.endsWith(".jsx")) return "jsx";
  return "js";
}

/** Heuristic: no ESM syntax but CommonJS exports. Appending an `import` would turn such a file into ESM and break `module.exports`. */
function looksLikeCommonJs(text: string): boolean {
  if (/^\s*(import|export)\b/m.test(text)) return false;
  return /\b(module\.exports|exports\.[A-Za-z_$])/.test(text);
}

/** The text appended to a project file (exported for tests). */
export function tagSuffix(absPath: string, relFile: string, text: string): string {
  const register = `globalThis[Symbol.for("flash-ts.registry")]?.tagModule`;
  if (looksLikeCommonJs(text)) {
    return `\n;${register}(module.exports, ${JSON.stringify(relFile)}, ${BUNDLE_URL_BINDING});\n`;
  }
  const self = JSON.stringify(`./${basename(absPath)}`);
  return `\n;import * as __flash_self from ${self};\n${register}(__flash_self, ${JSON.stringify(relFile)}, import.meta.url);\n`;
}

/** Project-relative path with `/` separators. */
export function toProjectPath(root: string, absPath: string): string {
  return relative(root, absPath).split(sep).join("/");
}

/** The tagging plugin for a project rooted at `root` (absolute). Files under `node_modules` are left alone. */
export function createTagPlugin(root: string): Plugin {
  return {
    name: "flash-ts-tag",
    setup(build) {
      build.onLoad({ filter: SCRIPT_FILE, namespace: "file" }, async (args) => {
        if (args.path.split(sep).includes("node_modules")) return undefined;
        const text = await readFile(args.path, "utf8");
        return {
          contents: text + tagSuffix(args.path, toProjectPath(root, args.path), text),
          loader: loaderFor(args.path),
          resolveDir: dirname(args.path),
          watchFiles: [args.path],
        };
      });
    },
  };
}
