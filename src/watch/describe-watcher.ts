import type { WatcherStats } from "./types.js";

const count = (n: number): string => n.toLocaleString("en-US");

function interval(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

/**
 * One console line saying how the project is watched, e.g.
 * "watching 5,012 files by polling (12 hot every 75 ms, the rest every 3 s)"
 * or "watching 5,012 files with native file events".
 */
export function describeWatcher(stats: WatcherStats): string {
  const total = stats.hotFiles + stats.coldFiles;
  if (stats.mode === "native" || stats.hotIntervalMs === null || stats.coldIntervalMs === null) {
    return `watching ${count(total)} files with native file events`;
  }
  return (
    `watching ${count(total)} files by polling ` +
    `(${count(stats.hotFiles)} hot every ${interval(stats.hotIntervalMs)}, the rest every ${interval(stats.coldIntervalMs)})`
  );
}
