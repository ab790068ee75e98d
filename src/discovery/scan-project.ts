/**
 * Walks a project for source files and finds the candidates: files whose
 * text mentions `remote` or `Endpoint` (the two ways to define remote
 * functions, docs/internals.md "Endpoint"). A cheap text test on purpose: bundling and
 * importing decide what is really a remote function; the scan only has to
 * never miss one. Results are cached by path + mtime + size so a rescan
 * re-reads only files that changed, and an incremental update touches only
 * the paths it is given.
 */
import { readdirSync, statSync } from "node:fs";
import type { Dirent, Stats } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isAlwaysSkippedDir, isOutside, isSourceFileName, loadIgnoreRules } from "./ignore-rules.js";
import type { IgnoreRules } from "./ignore-rules.js";

interface ScannedFile {
  mtimeMs: number;
  size: number;
  candidate: boolean;
}

/** Words whose presence makes a file a candidate. */
const CANDIDATE_MARKERS = ["remote", "Endpoint"] as const;

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // permission denied and the like: treat as absent
  }
}

/** The scanned files of one project, kept up to date by full or incremental scans. */
export interface ProjectScanner {
  /** The current ignore rules (replaced by {@link ProjectScanner.reloadIgnoreRules}). */
  readonly rules: IgnoreRules;
  /** Re-reads `.gitignore` / `.flashignore`; the next scan must be a full one. */
  reloadIgnoreRules(): void;
  /** Walks the whole tree (pruning ignored folders); unchanged files are not re-read. */
  scanAll(): Promise<void>;
  /**
   * Updates the given relative paths (files or folders; added, changed or
   * removed). Returns the files whose candidate status or content changed.
   */
  update(relPaths: readonly string[]): Promise<Set<string>>;
  /** Every scanned source file, sorted. */
  files(): string[];
  /** Scanned files whose text mentions `remote` or `Endpoint`, sorted. */
  candidates(): string[];
  /** Size and mtime of a scanned file as of the last scan; undefined when it is not scanned. */
  info(rel: string): { mtimeMs: number; size: number } | undefined;
}

function toRel(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/");
}

/** Creates a scanner for `root` (absolute). No I/O until a scan. */
export function createProjectScanner(root: string): ProjectScanner {
  let rules = loadIgnoreRules(root);
  const files = new Map<string, ScannedFile>();

  /** Reads one file whose stat changed (or is new) and records whether it is a candidate. */
  const readCandidate = async (rel: string, info: { mtimeMs: number; size: number }): Promise<boolean> => {
    let text: string;
    try {
      text = await readFile(join(root, rel), "utf8");
    } catch {
      return files.delete(rel);
    }
    files.set(rel, { mtimeMs: info.mtimeMs, size: info.size, candidate: CANDIDATE_MARKERS.some((marker) => text.includes(marker)) });
    return true;
  };

  const isUnchanged = (rel: string, info: { mtimeMs: number; size: number }): boolean => {
    const previous = files.get(rel);
    return previous !== undefined && previous.mtimeMs === info.mtimeMs && previous.size === info.size;
  };

  /**
   * Walks `relDir` (known not to be ignored) and stats each scannable file.
   * Synchronous on purpose: for a few thousand files readdir + stat take
   * ~10 ms this way and ~40 ms through the thread pool, and the dev server
   * holds requests during a reload anyway.
   */
  const walk = (relDir: string, found: Map<string, Stats>): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(root, relDir), { withFileTypes: true });
    } catch {
      return; // vanished or unreadable: nothing to scan there
    }
    for (const entry of entries) {
      const rel = toRel(relDir, entry.name);
      if (entry.isDirectory()) {
        // Prune here: never descend into node_modules or an ignored folder.
        if (!isAlwaysSkippedDir(entry.name) && !rules.isIgnored(rel, true)) walk(rel, found);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && isSourceFileName(entry.name) && !rules.isIgnored(rel, false)) {
        const info = statOrUndefined(join(root, rel));
        if (info?.isFile()) found.set(rel, info);
      }
    }
  };

  /** Reads the files whose stat changed, in bounded batches; returns the ones whose entry changed. */
  const refresh = async (found: ReadonlyMap<string, Stats>, changed: Set<string>): Promise<void> => {
    const stale = [...found].filter(([rel, info]) => !isUnchanged(rel, info));
    for (let i = 0; i < stale.length; i += 64) {
      const batch = stale.slice(i, i + 64);
      const results = await Promise.all(batch.map(([rel, info]) => readCandidate(rel, info)));
      results.forEach((didChange, j) => {
        if (didChange) changed.add(batch[j]![0]);
      });
    }
  };

  const sortedKeys = (filter: (file: ScannedFile) => boolean): string[] =>
    [...files].filter(([, f]) => filter(f)).map(([rel]) => rel).sort();

  return {
    get rules() {
      return rules;
    },
    reloadIgnoreRules() {
      rules = loadIgnoreRules(root);
    },
    async scanAll() {
      const found = new Map<string, Stats>();
      walk("", found);
      for (const rel of [...files.keys()]) if (!found.has(rel)) files.delete(rel);
      await refresh(found, new Set());
    },
    async update(relPaths) {
      const changed = new Set<string>();
      const found = new Map<string, Stats>();
      for (const rel of relPaths) {
        if (isOutside(rel)) continue; // a bundle input outside the project: rebuilt, never scanned
        const info = statOrUndefined(join(root, rel));
        if (info?.isDirectory()) {
          if (!rules.isIgnored(rel, true)) walk(rel, found);
          continue;
        }
        if (!info) {
          // Removed: a file, or a folder with everything under it.
          const prefix = `${rel}/`;
          for (const known of [...files.keys()]) {
            if (known === rel || known.startsWith(prefix)) {
              files.delete(known);
              changed.add(known);
            }
          }
          continue;
        }
        if (info.isFile() && rules.isScannable(rel)) found.set(rel, info);
        else if (files.delete(rel)) changed.add(rel);
      }
      await refresh(found, changed);
      return changed;
    },
    files: () => sortedKeys(() => true),
    candidates: () => sortedKeys((f) => f.candidate),
    info(rel) {
      const file = files.get(rel);
      return file && { mtimeMs: file.mtimeMs, size: file.size };
    },
  };
}
