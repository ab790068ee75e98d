/**
 * The per-worker job-stop channel (runpod-python >= 1.10): a worker long-polls
 * `job-stop/{workerId}` and gets `{"jobsToStop": [...]}` when a job it runs
 * was cancelled, timed out or expired. Stops requested while the worker is
 * not polling wait for its next poll.
 */

/** Enough for any real worker; keeps a worker that never polls from growing the list forever. */
const MAX_PENDING = 1000;

/** Pending job stops per worker, and their held polls. */
export class StopChannel {
  private readonly pending = new Map<string, string[]>();
  private readonly pollers = new Map<string, (jobs: string[]) => void>();
  private closed = false;

  /** Queues a stop for `workerId` and wakes its held poll. */
  request(workerId: string, jobId: string): void {
    const list = this.pending.get(workerId) ?? [];
    if (!list.includes(jobId)) list.push(jobId);
    if (list.length > MAX_PENDING) list.splice(0, list.length - MAX_PENDING);
    this.pending.set(workerId, list);
    this.pollers.get(workerId)?.(this.drain(workerId));
  }

  /** A worker polls: pending stops at once, else held up to `holdMs` (then an empty list). */
  poll(workerId: string, holdMs: number): { jobs: Promise<string[]>; cancel(): void } {
    const ready = this.drain(workerId);
    if (ready.length > 0 || this.closed || holdMs <= 0) return { jobs: Promise.resolve(ready), cancel: () => {} };
    // One held poll per worker: a newer poll replaces an older one (which ends empty).
    this.pollers.get(workerId)?.([]);
    let settle!: (jobs: string[]) => void;
    const jobs = new Promise<string[]>((resolve) => (settle = resolve));
    const done = (list: string[]): void => {
      clearTimeout(timer);
      if (this.pollers.get(workerId) === done) this.pollers.delete(workerId);
      settle(list);
    };
    const timer = setTimeout(() => done([]), holdMs);
    this.pollers.set(workerId, done);
    return { jobs, cancel: () => done([]) };
  }

  /** Forgets a worker that is gone. */
  forget(workerId: string): void {
    this.pollers.get(workerId)?.([]);
    this.pending.delete(workerId);
  }

  close(): void {
    this.closed = true;
    for (const done of [...this.pollers.values()]) done([]);
  }

  private drain(workerId: string): string[] {
    const list = this.pending.get(workerId);
    if (!list || list.length === 0) return [];
    this.pending.delete(workerId);
    return list;
  }
}
