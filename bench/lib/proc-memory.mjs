// Resident memory of another process from /proc/<pid>/status (Linux): the
// current RSS and its peak since the last reset (VmHWM; writing 5 to
// /proc/<pid>/clear_refs resets the peak to the current RSS), in MB.
import { readFileSync, writeFileSync } from "node:fs";

function field(pid, name) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  return line ? Math.round(parseInt(line.slice(name.length + 1), 10) / 102.4) / 10 : NaN;
}

/** Current resident set of `pid`, MB. */
export const rssMb = (pid) => field(pid, "VmRSS");

/** Peak resident set of `pid` since the last resetPeak, MB. */
export const peakRssMb = (pid) => field(pid, "VmHWM");

/** Starts a new peak measurement at the current RSS. */
export function resetPeak(pid) {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}
