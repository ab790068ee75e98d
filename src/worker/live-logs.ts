/**
 * Sends a function's console output while it runs (docs/internals.md, "Live
 * logs"): lines are gathered for a short interval and posted as one job
 * stream chunk, one post at a time. It is bounded: lines and bytes per
 * second, the length of one line, and what may wait while a post is slow;
 * what is over is not sent live (the chunk says how many lines) and reaches
 * the caller with the result instead, which always holds every line (up to
 * its own cap, worker/call-context.ts).
 */
import { systemClock } from "../common/clock.js";
import type { Clock } from "../common/clock.js";
import type { FunctionLog } from "../common/function-protocol.js";
import { liveLogChunk } from "../common/live-logs.js";
import type { LiveLog, LiveLogChunk } from "../common/live-logs.js";

export interface LiveLogSenderOptions {
  /** Posts one chunk; false (or a rejection) means the channel is unavailable, and nothing more is sent. */
  send(chunk: LiveLogChunk): Promise<boolean>;
  clock?: Clock;
  /** Lines are gathered this long before a post. Default 200 ms. */
  flushMs?: number;
  /** Default 100. */
  maxLinesPerSecond?: number;
  /** Bytes of text per second. Default 64 KiB. */
  maxBytesPerSecond?: number;
  /** A longer line is not sent live. Default 16 KiB. */
  maxLineBytes?: number;
  /** Bytes waiting while a post is in flight. Default 256 KiB (a chunk stays far below Runpod's 1 MB). */
  maxPendingBytes?: number;
}

export interface LiveLogSender {
  /** One line of the call's output and its position in the call's `logs`. */
  add(log: FunctionLog, seq: number): void;
  /** Sends nothing more (lines not yet sent come with the result); resolves when the post in flight, if any, is over. */
  close(): Promise<void>;
}

const KIB = 1024;

export function createLiveLogSender(options: LiveLogSenderOptions): LiveLogSender {
  const clock = options.clock ?? systemClock;
  const flushMs = options.flushMs ?? 200;
  const maxLines = options.maxLinesPerSecond ?? 100;
  const maxBytes = options.maxBytesPerSecond ?? 64 * KIB;
  const maxLineBytes = options.maxLineBytes ?? 16 * KIB;
  const maxPendingBytes = options.maxPendingBytes ?? 256 * KIB;
  const stop = new AbortController();
  let windowStart = Number.NEGATIVE_INFINITY;
  let windowLines = 0;
  let windowBytes = 0;
  let pending: LiveLog[] = [];
  let pendingBytes = 0;
  let dropped = 0;
  let posting: Promise<void> | undefined;
  let armed = false;

  const arm = (): void => {
    if (armed || posting || stop.signal.aborted || (pending.length === 0 && dropped === 0)) return;
    armed = true;
    clock.sleep(flushMs, stop.signal).then(flush, () => undefined);
  };

  async function flush(): Promise<void> {
    armed = false;
    const chunk = liveLogChunk(pending, dropped);
    pending = [];
    pendingBytes = 0;
    dropped = 0;
    let done!: () => void;
    posting = new Promise<void>((resolve) => (done = resolve));
    let ok: boolean;
    try {
      ok = await options.send(chunk);
    } catch {
      ok = false;
    }
    posting = undefined;
    done();
    if (!ok) stop.abort();
    arm();
  }

  return {
    add(log, seq) {
      if (stop.signal.aborted) return;
      const now = clock.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        windowLines = 0;
        windowBytes = 0;
      }
      const size = Buffer.byteLength(log.text);
      if (size > maxLineBytes || windowLines >= maxLines || windowBytes + size > maxBytes || pendingBytes + size > maxPendingBytes) {
        dropped++;
      } else {
        windowLines++;
        windowBytes += size;
        pendingBytes += size;
        pending.push({ ...log, seq });
      }
      arm();
    },
    async close() {
      stop.abort();
      pending = [];
      await posting;
    },
  };
}
