/**
 * What a call shows while it is in flight (docs/internals.md, "Live logs" and
 * "Live call state"):
 *
 * - LiveLogs: a QB job's console output, read from its `/stream` while the
 *   job runs (the worker sends it as stream chunks), and which lines of the
 *   final FunctionResponse were already shown (by their position);
 * - HealthWatch: the endpoint's `/health` (workers initializing, throttled…),
 *   read once per interval per endpoint for all the calls that watch it.
 *
 * Both are bounded and quiet: a failure to read only means the lines come
 * with the result, or the state shows less.
 */
import type { Clock } from "../common/clock.js";
import type { FunctionLog } from "../common/function-protocol.js";
import { parseLiveLogChunk } from "../common/live-logs.js";
import type { JobClient } from "../runpod/job-client.js";
import type { HealthResponse } from "../runpod/wire-types.js";
import { isTerminalStatus } from "../runpod/wire-types.js";
import type { JobStatus } from "../runpod/wire-types.js";
import { WAIT_ENDED } from "../common/abort-reason.js";

/**
 * A job's stream is first read this long after the job was submitted: a call
 * that ends sooner costs no stream request (its lines come with its result),
 * and nothing is lost by waiting, since a read returns every chunk not yet read.
 */
const FIRST_READ_AFTER_MS = 250;
/** A stream read that answered faster than this with nothing new means the server does not hold the read: pause. */
const FAST_ANSWER_MS = 250;
const PAUSE_START_MS = 250;
const PAUSE_MAX_MS = 1000;
/** Reading a job's stream stops after this many failures in a row (its lines then come with the result). */
const MAX_STREAM_ERRORS = 5;
/** Ranges of shown lines kept per job; past it the rest of the lines come with the result. */
const MAX_RANGES = 1000;

/** Positions of the lines already shown, as sorted ranges (lines arrive in order, with gaps where some were dropped). */
class ShownLines {
  readonly #ranges: [number, number][] = [];

  /** Marks `seq` as shown; false when the set is full (the line is not shown). */
  add(seq: number): boolean {
    const last = this.#ranges.at(-1);
    if (last && seq >= last[0] && seq <= last[1]) return true;
    if (last && seq === last[1] + 1) {
      last[1] = seq;
      return true;
    }
    if (last && seq < last[0]) return false; // out of order: leave it for the result
    if (this.#ranges.length >= MAX_RANGES) return false;
    this.#ranges.push([seq, seq]);
    return true;
  }

  has(seq: number): boolean {
    return this.#ranges.some(([from, to]) => seq >= from && seq <= to);
  }
}

export interface LiveLogsOptions {
  stream: JobClient["stream"];
  clock: Clock;
  onLogs(logs: FunctionLog[]): void;
  onDropped(count: number): void;
  /** The job's status as each stream read saw it. */
  onStatus(jobId: string, status: JobStatus): void;
}

/** The live lines of one call: follows its current job's stream, and remembers what was shown. */
export class LiveLogs {
  readonly #options: LiveLogsOptions;
  #jobId: string | undefined;
  #shown = new ShownLines();
  #reading: AbortController | undefined;

  constructor(options: LiveLogsOptions) {
    this.#options = options;
  }

  /** A job was submitted for the call (a resend makes a new one): read its stream from now on. */
  follow(endpointId: string, jobId: string): void {
    this.stop();
    this.#jobId = jobId;
    this.#shown = new ShownLines();
    const reading = (this.#reading = new AbortController());
    void this.#read(endpointId, jobId, reading.signal);
  }

  /** Stops reading (the job ended, or the call did). */
  stop(): void {
    this.#reading?.abort(WAIT_ENDED);
    this.#reading = undefined;
  }

  /** The lines of the final response of `jobId` that were not shown live. */
  unseen(jobId: string | undefined, logs: readonly FunctionLog[]): FunctionLog[] {
    if (jobId === undefined || jobId !== this.#jobId) return [...logs];
    return logs.filter((_, seq) => !this.#shown.has(seq));
  }

  async #read(endpointId: string, jobId: string, signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    let errors = 0;
    let pauseMs = PAUSE_START_MS;
    await clock.sleep(FIRST_READ_AFTER_MS, signal).catch(() => undefined);
    while (!signal.aborted) {
      const started = clock.now();
      let answer;
      try {
        answer = await this.#options.stream(endpointId, jobId, { signal });
      } catch {
        if (signal.aborted || ++errors >= MAX_STREAM_ERRORS) return;
        await clock.sleep(PAUSE_MAX_MS, signal).catch(() => undefined);
        continue;
      }
      if (signal.aborted) return;
      errors = 0;
      // Running before its lines: a job's start is news even when it has printed nothing yet.
      if (!isTerminalStatus(answer.status)) this.#options.onStatus(jobId, answer.status);
      this.#deliver(answer.stream.map((chunk) => chunk.output));
      if (isTerminalStatus(answer.status)) return;
      if (answer.stream.length === 0 && clock.now() - started < FAST_ANSWER_MS) {
        await clock.sleep(pauseMs, signal).catch(() => undefined);
        pauseMs = Math.min(pauseMs * 2, PAUSE_MAX_MS);
      } else {
        pauseMs = PAUSE_START_MS;
      }
    }
  }

  #deliver(outputs: unknown[]): void {
    for (const output of outputs) {
      const chunk = parseLiveLogChunk(output);
      if (!chunk) continue;
      const shown: FunctionLog[] = [];
      for (const { seq, ...log } of chunk.logs) if (this.#shown.add(seq)) shown.push(log);
      if (shown.length > 0) this.#options.onLogs(shown);
      if (chunk.dropped > 0) this.#options.onDropped(chunk.dropped);
    }
  }
}

/** What a health reading tells a call. */
export type HealthReading = HealthResponse;

export interface HealthWatchOptions {
  health: JobClient["health"];
  clock: Clock;
  /** Between readings of one endpoint. Default 2 s. */
  intervalMs?: number;
}

/** Failed readings in a row after which an endpoint is not asked again while it is watched. */
const MAX_HEALTH_ERRORS = 3;

interface Watched {
  listeners: Set<(reading: HealthReading) => void>;
  stop: AbortController;
  /** The latest reading, handed to a call that starts watching between two readings. */
  last: HealthReading | undefined;
}

/** Reads endpoints' health for the calls watching them: one loop per endpoint, while someone watches. */
export class HealthWatch {
  readonly #options: HealthWatchOptions;
  readonly #watched = new Map<string, Watched>();

  constructor(options: HealthWatchOptions) {
    this.#options = options;
  }

  /** Hands every reading of `endpointId` to `listener` (the latest one at once) until the returned function is called. */
  watch(endpointId: string, listener: (reading: HealthReading) => void): () => void {
    let entry = this.#watched.get(endpointId);
    if (!entry) {
      entry = { listeners: new Set(), stop: new AbortController(), last: undefined };
      this.#watched.set(endpointId, entry);
      void this.#loop(endpointId, entry);
    } else if (entry.last) {
      listener(entry.last);
    }
    entry.listeners.add(listener);
    const own = entry;
    return () => {
      own.listeners.delete(listener);
      if (own.listeners.size > 0) return;
      own.stop.abort(WAIT_ENDED);
      if (this.#watched.get(endpointId) === own) this.#watched.delete(endpointId);
    };
  }

  async #loop(endpointId: string, entry: Watched): Promise<void> {
    const { clock, health } = this.#options;
    const { listeners, stop: { signal } } = entry;
    const intervalMs = this.#options.intervalMs ?? 2000;
    let errors = 0;
    while (!signal.aborted) {
      try {
        const reading = await health(endpointId, { signal });
        errors = 0;
        entry.last = reading;
        if (!signal.aborted) for (const listener of [...listeners]) listener(reading);
      } catch {
        // An endpoint (or a platform) that does not answer /health: stop asking while this set watches.
        if (signal.aborted || ++errors >= MAX_HEALTH_ERRORS) return;
      }
      await clock.sleep(intervalMs, signal).catch(() => undefined);
    }
  }
}
