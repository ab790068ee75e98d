/**
 * Which project paths discovery looks at. Three layers, checked in order:
 *
 * 1. Folders that are never user source (`node_modules`, `.git`, `.runpod`,
 *    `dist`, `build`, any hidden folder) and test code (`test/`, `tests/`,
 *    `__tests__/`, `*.test.*`, `*.spec.*`). These cannot be re-included: a
 *    negation in an ignore file must not make discovery walk `node_modules`.
 * 2. The root `.gitignore`, then `.flashignore`, with gitignore semantics
 *    (negation included) via the `ignore` package. `.flashignore` comes last
 *    so that it can re-include (`!generated/api.ts`) what git ignores: the
 *    tool-specific file has the final word. (Flash's Python version reads them
 *    the other way round; nothing depends on that order.)
 * 3. The file type: `.ts .mts .cts .js .mjs`, never `.d.ts` (only for files).
 *
 * Paths are relative to the project root with `/` separators.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ignore from "ignore";
import type { Ignore } from "ignore";
import { isNeverSourceDir, NEVER_SOURCE_DIRS, TEST_DIRS } from "../common/project-folders.js";

/** Folder names skipped at any depth: never source, and test code (common/project-folders.ts). Hidden folders (`.x`) are skipped too. */
export const ALWAYS_SKIPPED_DIRS: ReadonlySet<string> = new Set([...NEVER_SOURCE_DIRS, ...TEST_DIRS]);

/** File names (relative to the root) whose change alters the ignore rules. */
export const IGNORE_FILES: readonly string[] = [".gitignore", ".flashignore"];

const SOURCE_FILE = /\.(ts|mts|cts|js|mjs)$/;
const DECLARATION_FILE = /\.d\.[cm]?ts$/;
const TEST_FILE = /\.(test|spec)\.[^/]+$/;

/** The compiled ignore rules of one project. */
export interface IgnoreRules {
  /**
   * True when discovery never looks at `relPath` (a file, or a folder when
   * `isDirectory` is true or the path ends with `/`): an always-skipped or
   * hidden folder on the way, a test file, or an ignore-file rule. Says
   * nothing about the file type: `package.json` is not ignored.
   */
  isIgnored(relPath: string, isDirectory?: boolean): boolean;
  /** True for a file discovery scans: not ignored and a source file (`.ts .mts .cts .js .mjs`, not `.d.ts`). */
  isScannable(relPath: string): boolean;
}

/** True for a file name with a scanned extension (`.ts .mts .cts .js .mjs`), excluding declarations. */
export function isSourceFileName(name: string): boolean {
  return SOURCE_FILE.test(name) && !DECLARATION_FILE.test(name);
}

function readIgnoreFile(root: string, name: string): string {
  try {
    return readFileSync(join(root, name), "utf8");
  } catch {
    return ""; // absent or unreadable: no rules
  }
}

/** True for a path that leaves the project (`../x`, absolute): never scanned, though a bundle may import it. */
export function isOutside(relPath: string): boolean {
  const path = relPath.replace(/\\/g, "/");
  return path === ".." || path.startsWith("../") || path.startsWith("/") || /^[A-Za-z]:\//.test(path);
}

/** True when a folder name is skipped whatever the ignore files say. */
export function isAlwaysSkippedDir(name: string): boolean {
  return isNeverSourceDir(name) || TEST_DIRS.has(name);
}

/** Reads `.gitignore` and `.flashignore` of `root` (call again after either changes). */
export function loadIgnoreRules(root: string): IgnoreRules {
  const matcher: Ignore = ignore({ allowRelativePaths: true })
    .add(readIgnoreFile(root, ".gitignore"))
    .add(readIgnoreFile(root, ".flashignore"));

  const isIgnored = (relPath: string, isDirectory = false): boolean => {
    let path = relPath.replace(/\\/g, "/");
    if (path.startsWith("./")) path = path.slice(2);
    const trailingSlash = path.endsWith("/");
    if (trailingSlash) path = path.slice(0, -1);
    if (path === "" || path === ".") return false;
    // Outside the project: not ours to judge (the watcher may still watch bundle inputs there).
    if (isOutside(path)) return false;
    const dir = isDirectory || trailingSlash;
    const parts = path.split("/");
    const folderCount = dir ? parts.length : parts.length - 1;
    for (let i = 0; i < folderCount; i++) if (isAlwaysSkippedDir(parts[i]!)) return true;
    if (!dir && TEST_FILE.test(parts[parts.length - 1]!)) return true;
    return matcher.ignores(dir ? `${path}/` : path);
  };

  return {
    isIgnored,
    isScannable: (relPath) => !isOutside(relPath) && isSourceFileName(relPath) && !isIgnored(relPath, false),
  };
}
