/**
 * What the watcher never looks at, in both modes. Skipping a directory here is
 * what keeps polling cheap: `node_modules` alone is often 10–100× the project.
 */
import { isNeverSourceDir, NEVER_SOURCE_DIRS } from "../common/project-folders.js";
import type { IgnorePredicate } from "./types.js";

/**
 * Directory names skipped at any depth: the folders that never hold source
 * (common/project-folders.ts, which says why test folders are not among
 * them). Hidden folders are skipped too, see {@link isBuiltInIgnored}.
 */
export const IGNORED_DIRECTORY_NAMES: ReadonlySet<string> = NEVER_SOURCE_DIRS;

/** The one hidden file at the root that is always watched, whatever the predicate says. */
export const ENV_FILE = ".env";

/**
 * Editor and OS litter that must never trigger a reload: vim swap files and
 * its `4913` write probe, `~` backups, emacs lock/autosave files, `*.tmp`
 * (many editors' atomic-save temp), JetBrains "safe write" temps, `.DS_Store`.
 */
export function isEditorTempFile(name: string): boolean {
  return (
    name === "4913" ||
    name === ".DS_Store" ||
    name.endsWith("~") ||
    name.startsWith(".#") ||
    (name.startsWith("#") && name.endsWith("#")) ||
    /\.(swp|swx|swo|tmp)$/i.test(name) ||
    name.endsWith("___jb_tmp___") ||
    name.endsWith("___jb_old___")
  );
}

/** The built-in rules, applied before the caller's predicate. */
export function isBuiltInIgnored(name: string, isDir: boolean): boolean {
  if (isDir) return isNeverSourceDir(name);
  return isEditorTempFile(name);
}

/**
 * Normalises a caller-supplied relative path to our form (`/` separators, no
 * `./`, no trailing slash). Returns undefined for paths that leave the root or
 * are absolute: the watcher only ever reports paths inside it.
 */
export function normalizeRelPath(relPath: string): string | undefined {
  const parts: string[] = [];
  for (const part of relPath.replace(/\\/g, "/").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") return undefined;
    parts.push(part);
  }
  if (relPath.startsWith("/") || /^[a-zA-Z]:/.test(relPath) || parts.length === 0) return undefined;
  return parts.join("/");
}

/**
 * Combines the built-in rules with the caller's predicate into the single
 * matcher both implementations use. The root `.env` is never ignored (it is
 * hidden and usually in `.gitignore`, yet a change to it restarts the server).
 * The caller's predicate is only asked about paths the built-in rules keep,
 * and an exception it throws counts as "not ignored".
 */
export function createIgnoreMatcher(userPredicate?: IgnorePredicate): IgnorePredicate {
  return (relPath, isDir) => {
    if (relPath === "") return false;
    if (relPath === ENV_FILE && !isDir) return false;
    const slash = relPath.lastIndexOf("/");
    const name = slash === -1 ? relPath : relPath.slice(slash + 1);
    if (isBuiltInIgnored(name, isDir)) return true;
    if (!userPredicate) return false;
    try {
      return userPredicate(relPath, isDir);
    } catch {
      return false;
    }
  };
}

/**
 * True when a file path is ignored by `matcher` itself or through one of its
 * folders. The tree walks never need this (they stop at an ignored folder);
 * paths handed in from outside, like hot files, do.
 */
export function isIgnoredFilePath(matcher: IgnorePredicate, relPath: string): boolean {
  let slash = relPath.indexOf("/");
  while (slash !== -1) {
    if (matcher(relPath.slice(0, slash), true)) return true;
    slash = relPath.indexOf("/", slash + 1);
  }
  return matcher(relPath, false);
}
