/** The start-up banner: where the server is and which routes it serves. */
import type { RouteInfo } from "./route-generation.js";

/**
 * Formats the route table shown at start-up and after a reload changed the
 * routes:
 *
 * ```
 * Flash Dev Server  http://localhost:8888
 *
 *   METHOD  PATH                   ENDPOINT         TYPE
 *   POST    /gpu_worker/run_sync   live-gpu-worker  QB
 *   GET     /lb_worker/health      live-lb-worker   LB local
 *
 *   Docs: http://localhost:8888/docs
 * ```
 *
 * Plain text (no colour) so it reads the same in a terminal and a log file.
 * Aliases (`/runsync`) are left out to keep one row per function.
 */
export function formatRouteTable(routes: readonly RouteInfo[], url: string): string {
  const base = url.replace(/\/+$/, "");
  const lines = [`Flash Dev Server  ${base}`, ""];
  if (routes.length === 0) {
    lines.push("  No remote functions are served yet.");
  } else {
    const rows = [
      ["METHOD", "PATH", "ENDPOINT", "TYPE"],
      ...routes.map((r) => [r.method, r.path, r.endpointName, r.local ? `${r.kind} local` : r.kind]),
    ];
    const widths = [0, 1, 2].map((col) => Math.max(...rows.map((row) => row[col]!.length)));
    for (const row of rows) {
      const cells = row.map((cell, col) => (col < 3 ? cell.padEnd(widths[col]!) : cell));
      lines.push(`  ${cells.join("  ")}`.trimEnd());
    }
  }
  lines.push("", `  Docs: ${base}/docs`);
  return lines.join("\n");
}
