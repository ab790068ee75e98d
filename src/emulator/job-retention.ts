/**
 * What the job store may keep: ended jobs stay readable for Runpod's
 * retention (`/run` 30 minutes, `/runsync` 1 minute), and all job data counts
 * against one byte budget. When the budget is short, ended jobs are dropped
 * before their time, oldest first (docs/limits.md, Memory bounds).
 */
import { ByteBudget, formatBytes } from "../common/byte-budget.js";
import { HttpError } from "./http-error.js";
import { isTerminal, type JobRecord } from "./job-record.js";

/** What one job counts for besides its data (the record, its timers, its ids): so a flood of tiny jobs is bounded too. */
export const JOB_OVERHEAD_BYTES = 1024;
/** Retry-After of a submission refused because the job memory is full. */
const FULL_RETRY_AFTER_S = 2;

/** Settings of {@link JobRetention}. */
export interface JobRetentionOptions {
  /** How long ended jobs stay readable, in ms: [/run, /runsync]. */
  retentionMs: [number, number];
  /** Job data held at once, in bytes. */
  memoryBytes: number;
  /** Forgets a job (its bytes are given back by the caller). */
  drop(job: JobRecord): void;
  now(): number;
}

/** Ended jobs in finishing order, their sweep, and the job memory. */
export class JobRetention {
  /** Job data held now, against its limit. */
  readonly memory: ByteBudget;
  /** Per kind (/run, /runsync), in finishing order; an entry is stale once its job ran again or was dropped. */
  private readonly ended: { job: JobRecord; at: number }[][] = [[], []];
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: JobRetentionOptions) {
    this.memory = new ByteBudget(options.memoryBytes);
    this.sweeper = setInterval(() => this.sweep(), Math.min(5_000, Math.max(100, Math.min(...options.retentionMs) / 2)));
    this.sweeper.unref();
  }

  /** A job reached a terminal status (again). */
  record(job: JobRecord): void {
    this.ended[job.sync ? 1 : 0]!.push({ job, at: job.finishedAt ?? this.options.now() });
  }

  /** Makes room for `bytes` more by dropping ended jobs, oldest first; false when that is not enough. */
  makeRoom(bytes: number): boolean {
    while (!this.memory.fits(bytes)) {
      const oldest = this.oldest();
      if (!oldest) return false;
      this.options.drop(oldest);
    }
    return true;
  }

  /**
   * Counts a new job of `inputBytes`, dropping ended jobs to make room.
   * @throws HttpError 429 with Retry-After when the job memory is still full.
   */
  admit(inputBytes: number): void {
    const need = JOB_OVERHEAD_BYTES + inputBytes;
    if (!this.makeRoom(need)) {
      throw new HttpError(
        429,
        `the emulator already holds ${formatBytes(this.memory.usedBytes)} of job data (queued and running jobs, kept results), its limit of ${formatBytes(this.memory.limitBytes)}; ` +
          "retry when queued jobs have run, or raise FLASH_EMULATOR_JOB_MEMORY_MB",
        undefined,
        { retryAfterSeconds: FULL_RETRY_AFTER_S },
      );
    }
    this.memory.take(need);
  }

  /** Counts `bytes` for the job's output (or error) instead of its previous one, when there is room; false (nothing changed) otherwise. */
  replaceOutput(job: JobRecord, bytes: number): boolean {
    const more = bytes - job.outputBytes;
    if (more > 0 && !this.makeRoom(more)) return false;
    this.memory.take(more);
    job.outputBytes = bytes;
    return true;
  }

  /** Drops a job's input (it will not run again) and gives its bytes back. */
  dropInput(job: JobRecord): void {
    if (job.inputJson === undefined) return;
    job.inputJson = undefined;
    this.memory.give(job.inputBytes);
  }

  /** Gives back everything a forgotten job held, and lets go of its data. */
  release(job: JobRecord): void {
    this.dropInput(job);
    this.memory.give(JOB_OVERHEAD_BYTES + job.outputBytes + job.chunkBytes);
    Object.assign(job, { output: undefined, outputBytes: 0, chunks: [], chunkBytes: 0 });
  }

  /** Why `what` was refused for lack of job memory. */
  fullMessage(what: string): string {
    return `${what} does not fit in the emulator's job memory: ${formatBytes(this.memory.usedBytes)} of ${formatBytes(this.memory.limitBytes)} are held by queued and running jobs; raise FLASH_EMULATOR_JOB_MEMORY_MB`;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** The ended job that finished first and is still kept (stale entries are dropped on the way). */
  private oldest(): JobRecord | undefined {
    for (;;) {
      const [run, sync] = this.ended;
      const list = run![0] && (!sync![0] || run![0].at <= sync![0].at) ? run! : sync!;
      const entry = list.shift();
      if (!entry) return undefined;
      if (isCurrent(entry)) return entry.job;
    }
  }

  /** Drops ended jobs whose retention passed. Each list is in finishing order, so only heads are looked at. */
  private sweep(): void {
    const now = this.options.now();
    this.ended.forEach((list, kind) => {
      const keep = this.options.retentionMs[kind as 0 | 1];
      let i = 0;
      for (; i < list.length && list[i]!.at + keep <= now; i++) {
        if (isCurrent(list[i]!)) this.options.drop(list[i]!.job);
      }
      if (i > 0) list.splice(0, i);
    });
  }
}

/** A job retried and ended again since has a later entry; only the latest ending counts. */
function isCurrent({ job, at }: { job: JobRecord; at: number }): boolean {
  return !job.deleted && isTerminal(job) && job.finishedAt === at;
}
