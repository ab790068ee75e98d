/**
 * Folders of a project that flash-ts never looks into, defined once for
 * discovery and the watcher (README.md, "Routes").
 *
 * - Never source, for both: dependencies and build output (`node_modules`,
 *   `dist`, `build`) and every hidden folder (`.git`, `.runpod`, `.cache`, …).
 *   Watching or scanning them is what would make polling expensive:
 *   `node_modules` alone is often 10–100× the project.
 * - Test folders (`test`, `tests`, `__tests__`): discovery skips them (test
 *   code is never served) and so does the dev session's watcher, which asks
 *   discovery; the watcher's own rules do not, since they are about cost and
 *   a watcher used for something else may well want tests.
 */

/** Folder names that never hold a project's source, at any depth. Hidden folders are skipped too. */
export const NEVER_SOURCE_DIRS: ReadonlySet<string> = new Set(["node_modules", "dist", "build"]);

/** Folder names of test code, at any depth (discovery skips them). */
export const TEST_DIRS: ReadonlySet<string> = new Set(["test", "tests", "__tests__"]);

/** True for a folder name that never holds source: a hidden folder or one of {@link NEVER_SOURCE_DIRS}. */
export function isNeverSourceDir(name: string): boolean {
  return name.startsWith(".") || NEVER_SOURCE_DIRS.has(name);
}
