/**
 * The file watcher: {@link createWatcher} picks polling (inside the dev
 * container) or native events, and reports changes as batches of
 * project-relative paths.
 */
export type {
  CreateWatcherOptions,
  FileChangeBatch,
  FileChangeEvent,
  FileChangeKind,
  IgnorePredicate,
  Watcher,
  WatcherStats,
  WatchMode,
} from "./types.js";
export { createWatcher, WATCH_DEFAULTS } from "./create-watcher.js";
export { resolveWatchMode } from "./resolve-watch-mode.js";
export { describeWatcher } from "./describe-watcher.js";
export { createIgnoreMatcher, isEditorTempFile, IGNORED_DIRECTORY_NAMES } from "./ignore-rules.js";
