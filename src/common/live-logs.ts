/**
 * Live logs on the wire (docs/internals.md, "Live logs"): while a function
 * runs, its worker sends its console output as job stream chunks of this
 * shape, and the caller reads them with `/stream` polls. Each line carries
 * its position in the call's `logs` (`seq`), so the caller can leave out of
 * the final FunctionResponse the lines it has already shown.
 */
import type { FunctionLog } from "./function-protocol.js";
import { isRecord } from "./is-record.js";

/** A line of console output and its position in the call's `logs`. */
export interface LiveLog extends FunctionLog {
  seq: number;
}

/** One stream chunk of live logs. */
export interface LiveLogChunk {
  /** Tells these chunks from anything else a stream may carry (the emulator streams a job's output once at its end). */
  flashLogs: 1;
  logs: LiveLog[];
  /** Lines not sent live since the previous chunk (over the rate limit); they come with the result. */
  dropped?: number;
}

/** A chunk to send. */
export function liveLogChunk(logs: LiveLog[], dropped: number): LiveLogChunk {
  return { flashLogs: 1, logs, ...(dropped > 0 ? { dropped } : {}) };
}

/** The live logs in a stream chunk's output, or undefined when it is something else. Malformed lines are skipped. */
export function parseLiveLogChunk(output: unknown): { logs: LiveLog[]; dropped: number } | undefined {
  if (!isRecord(output) || output.flashLogs !== 1 || !Array.isArray(output.logs)) return undefined;
  const logs: LiveLog[] = [];
  for (const l of output.logs) {
    if (!isRecord(l) || (l.stream !== "stdout" && l.stream !== "stderr") || typeof l.text !== "string") continue;
    if (typeof l.seq !== "number" || !Number.isSafeInteger(l.seq) || l.seq < 0) continue;
    logs.push({ stream: l.stream, text: l.text, seq: l.seq, ...(typeof l.endpoint === "string" && l.endpoint !== "" ? { endpoint: l.endpoint } : {}) });
  }
  const dropped = typeof output.dropped === "number" && Number.isSafeInteger(output.dropped) && output.dropped > 0 ? output.dropped : 0;
  return { logs, dropped };
}
