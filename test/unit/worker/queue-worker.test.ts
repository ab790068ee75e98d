/**
 * The queue worker's handling of a stop that arrives before its job (the
 * platform cancelled the job while the take handing it out was on the way):
 * how long such a stop is kept, and how many. A scripted platform client and
 * a fake clock; the real-process case is in test/integration/worker.queue.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogger } from "../../../src/common/logger.js";
import type { JobRunner } from "../../../src/worker/job-runner.js";
import type { PlatformClient, StopResult, TakeResult, WorkerJob } from "../../../src/worker/platform-client.js";
import { startQueueWorker } from "../../../src/worker/queue-worker.js";
import type { QueueWorker } from "../../../src/worker/queue-worker.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { waitFor } from "../../helpers/wait.js";

/** A long-poll answered when the test says so (or empty when the worker gives up on it). */
class Poll<T> {
  #pending: ((value: T) => void) | undefined;
  readonly #empty: T;
  constructor(empty: T) {
    this.#empty = empty;
  }
  wait(signal: AbortSignal): Promise<T> {
    return new Promise((resolve) => {
      this.#pending = resolve;
      signal.addEventListener("abort", () => resolve(this.#empty), { once: true });
    });
  }
  get held(): boolean {
    return this.#pending !== undefined;
  }
  answer(value: T): void {
    const resolve = this.#pending;
    this.#pending = undefined;
    resolve?.(value);
  }
}

function scriptedPlatform(): { client: PlatformClient; take: Poll<TakeResult>; stop: Poll<StopResult>; posted: string[] } {
  const take = new Poll<TakeResult>({ jobs: [], retryAfterMs: 0 });
  const stop = new Poll<StopResult>({ jobIds: [], retryAfterMs: 0 });
  const posted: string[] = [];
  const client: PlatformClient = {
    config: { jobStopUrl: "http://platform/job-stop/w1" } as PlatformClient["config"],
    takeJobs: (_max, _busy, signal) => take.wait(signal),
    pollStop: (signal) => stop.wait(signal),
    postResult: async (jobId) => {
      posted.push(jobId);
      return true;
    },
    postProgress: async () => true,
    postStreamChunk: async () => true,
    ping: async () => undefined,
    close: async () => undefined,
  };
  return { client, take, stop, posted };
}

const ran: string[] = [];
const runner: JobRunner = {
  run: async (job: WorkerJob) => {
    ran.push(job.id);
    return { body: { output: job.id }, isStream: false, failed: false };
  },
};

let worker: QueueWorker | undefined;
afterEach(async () => {
  await worker?.abort();
  worker = undefined;
  ran.length = 0;
});

async function stopThenTake(platform: ReturnType<typeof scriptedPlatform>, clock: FakeClock, stopped: string[], taken: string, after = 0): Promise<void> {
  await waitFor("a held stop poll", () => platform.stop.held, 2000);
  platform.stop.answer({ jobIds: stopped, retryAfterMs: 0 });
  // Handled once the worker polls again.
  await waitFor("the next stop poll", () => platform.stop.held, 2000);
  clock.tick(after);
  await waitFor("a held take", () => platform.take.held, 2000);
  platform.take.answer({ jobs: [{ id: taken, input: {} }], retryAfterMs: 0 });
}

describe("queue worker: a stop that overtakes its job", () => {
  it("is kept 10 s: the job is not run when it comes within them, and run when it comes later", async () => {
    const platform = scriptedPlatform();
    const clock = new FakeClock();
    const logger = createMemoryLogger("info");
    worker = startQueueWorker({ client: platform.client, runner, concurrency: 1, logger, clock });
    await stopThenTake(platform, clock, ["soon"], "soon", 9_999);
    await waitFor("the skip to be logged", () => logger.lines.some((l) => l.includes("job soon was stopped by the platform before it started")), 2000);
    await stopThenTake(platform, clock, ["late"], "late", 10_000);
    await waitFor("late to be posted", () => platform.posted.includes("late"), 2000);
    expect(ran).toEqual(["late"]);
    expect(platform.posted).toEqual(["late"]);
  });

  it("keeps at most 256 such stops, dropping the oldest first", async () => {
    const platform = scriptedPlatform();
    const clock = new FakeClock();
    worker = startQueueWorker({ client: platform.client, runner, concurrency: 1, logger: createMemoryLogger("info"), clock });
    const ids = Array.from({ length: 257 }, (_, i) => `s${i}`);
    await stopThenTake(platform, clock, ids, "s1");
    await waitFor("a held take", () => platform.take.held, 2000);
    platform.take.answer({ jobs: [{ id: "s0", input: {} }], retryAfterMs: 0 });
    await waitFor("s0 to be posted", () => platform.posted.includes("s0"), 2000);
    // s1 was still kept (skipped), s0 was the one dropped (run).
    expect(ran).toEqual(["s0"]);
  });
});
