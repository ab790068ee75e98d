/**
 * Bundles carry source maps whose sources are project-relative
 * (`workers/boom.ts`). Node resolves those against the bundle's own URL, so a
 * source-mapped frame reads `<bundle folder>/workers/boom.ts:7:11`. These
 * helpers turn such frames back into project terms: the location of a load
 * error, and stacks fit to show the user.
 */
import { sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** A position in a project file (1-based line and column). */
export interface ProjectLocation {
  file: string;
  line: number;
  column: number;
}

const FRAME_LOCATION = /(file:\/\/[^\s()]+|\/[^\s():]+|[A-Za-z]:\\[^\s():]+):(\d+):(\d+)/g;

function toPath(location: string): string {
  if (!location.startsWith("file://")) return location;
  try {
    return fileURLToPath(location);
  } catch {
    return location;
  }
}

/**
 * The first stack frame that lies in a project file (a source-mapped frame
 * under `bundleDir`), or undefined when the stack has none (e.g. the error
 * came from a package).
 */
export function locateInStack(stack: string | undefined, bundleDir: string): ProjectLocation | undefined {
  if (!stack) return undefined;
  const prefix = bundleDir.endsWith(sep) ? bundleDir : bundleDir + sep;
  for (const match of stack.matchAll(FRAME_LOCATION)) {
    const path = toPath(match[1]!);
    if (!path.startsWith(prefix)) continue;
    const file = path.slice(prefix.length).split(sep).join("/");
    // A frame in the bundle itself (no source map applied) is not a project file.
    if ((!file.includes("/") && file.endsWith(".mjs")) || file.startsWith("node_modules/")) continue;
    return { file, line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}

/**
 * Rewrites source-mapped frames under `bundleDir` to project-relative paths
 * (`/p/node_modules/.cache/flash-ts/bundles/workers/boom.ts:7:11` →
 * `workers/boom.ts:7:11`), in path and file-URL form.
 */
export function toProjectStack(stack: string, bundleDir: string): string {
  const dir = bundleDir.endsWith(sep) ? bundleDir.slice(0, -1) : bundleDir;
  const url = pathToFileURL(dir).href;
  return stack.split(`${url}/`).join("").split(`${dir}${sep}`).join("");
}
