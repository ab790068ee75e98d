/**
 * Helpers for the watcher tests: real temp directories, a recorder of
 * batches and waits for the events it records.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { FileChangeBatch, FileChangeKind, Watcher } from "../../../src/watch/types.js";
import { waitFor } from "../../helpers/wait.js";

/** A temp project directory with helpers to write and remove files in it. */
export interface TempProject {
  root: string;
  write(rel: string, text?: string): void;
  remove(rel: string): void;
  cleanup(): void;
}

export function createTempProject(files: Record<string, string> = {}): TempProject {
  // realpath: on macOS the temp dir is reached through a symlink (/var -> /private/var).
  const root = realpathSync(mkdtempSync(join(tmpdir(), "flash-watch-test-")));
  const write = (rel: string, text = `// ${rel} ${Date.now()} ${Math.random()}\n`): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  for (const [rel, text] of Object.entries(files)) write(rel, text);
  return {
    root,
    write,
    remove: (rel) => rmSync(join(root, rel), { recursive: true, force: true }),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Records every batch a watcher delivers. */
export class BatchRecorder {
  readonly batches: FileChangeBatch[] = [];
  readonly #off: () => void;

  constructor(watcher: Watcher) {
    this.#off = watcher.onChange((batch) => this.batches.push(batch));
  }

  /** Every event so far, flattened. */
  get events(): { path: string; kind: FileChangeKind }[] {
    return this.batches.flatMap((b) => b.events);
  }

  /** True once an event for `path` (of `kind`, if given) has been delivered. */
  has(path: string, kind?: FileChangeKind): boolean {
    return this.events.some((e) => e.path === path && (kind === undefined || e.kind === kind));
  }

  /** Waits for an event for `path` (of `kind`, if given). */
  async waitFor(path: string, kind?: FileChangeKind, timeoutMs = 5000): Promise<void> {
    await waitFor(`${kind ?? "an event"} for ${path}`, () => this.has(path, kind), timeoutMs, 10);
  }

  clear(): void {
    this.batches.length = 0;
  }

  stop(): void {
    this.#off();
  }
}
