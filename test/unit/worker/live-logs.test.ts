/** The worker's live log sender: batching, one post at a time, rate caps, and what is left for the result. */
import { describe, expect, it } from "vitest";
import { createLiveLogSender } from "../../../src/worker/live-logs.js";
import type { LiveLogChunk } from "../../../src/common/live-logs.js";
import { FakeClock } from "../../helpers/fake-clock.js";

function setup(options: { maxLinesPerSecond?: number; maxBytesPerSecond?: number; maxLineBytes?: number; maxPendingBytes?: number } = {}) {
  const clock = new FakeClock();
  const chunks: LiveLogChunk[] = [];
  let release: ((ok: boolean) => void) | undefined;
  let hold = false;
  let answer = true;
  const sender = createLiveLogSender({
    clock,
    flushMs: 100,
    ...options,
    send: (chunk) => {
      chunks.push(chunk);
      if (!hold) return Promise.resolve(answer);
      return new Promise<boolean>((resolve) => (release = resolve));
    },
  });
  const line = (seq: number, text = `line ${seq}`) => sender.add({ stream: "stdout", text }, seq);
  return {
    clock,
    chunks,
    sender,
    line,
    holdPosts: () => (hold = true),
    releasePost: (ok = true) => release?.(ok),
    refuse: () => (answer = false),
  };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe("live log sender", () => {
  it("sends the lines of one flush interval as one chunk, in order, with their positions", async () => {
    const t = setup();
    t.line(0);
    t.line(1, "second");
    await t.clock.sleepingFor(100);
    expect(t.chunks).toEqual([]);
    await t.clock.advance(100);
    await settle();
    expect(t.chunks).toEqual([
      {
        flashLogs: 1,
        logs: [
          { stream: "stdout", text: "line 0", seq: 0 },
          { stream: "stdout", text: "second", seq: 1 },
        ],
      },
    ]);
  });

  it("keeps one post in flight: lines written meanwhile go in the next chunk", async () => {
    const t = setup();
    t.holdPosts();
    t.line(0);
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    t.line(1);
    t.line(2);
    await settle();
    expect(t.clock.pending()).toEqual([]);
    expect(t.chunks).toHaveLength(1);
    t.releasePost();
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    expect(t.chunks.map((c) => c.logs.map((l) => l.seq))).toEqual([[0], [1, 2]]);
  });

  it("drops lines over the lines-per-second cap and says how many", async () => {
    const t = setup({ maxLinesPerSecond: 2 });
    for (let i = 0; i < 5; i++) t.line(i);
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    expect(t.chunks[0]).toMatchObject({ logs: [{ seq: 0 }, { seq: 1 }], dropped: 3 });
    // A new second: accepted again.
    await t.clock.advance(900);
    t.line(5);
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    expect(t.chunks[1]).toEqual({ flashLogs: 1, logs: [{ stream: "stdout", text: "line 5", seq: 5 }] });
  });

  it("caps bytes per second, and never sends a line longer than the per-line cap", async () => {
    const t = setup({ maxBytesPerSecond: 10, maxLineBytes: 8 });
    t.line(0, "12345");
    t.line(1, "123456789"); // over the per-line cap
    t.line(2, "12345");
    t.line(3, "1"); // over the second's bytes
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    expect(t.chunks).toEqual([{ flashLogs: 1, logs: [{ stream: "stdout", text: "12345", seq: 0 }, { stream: "stdout", text: "12345", seq: 2 }], dropped: 2 }]);
    await t.clock.advance(1000);
    t.line(4, "x");
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    expect(t.chunks[1]).toEqual({ flashLogs: 1, logs: [{ stream: "stdout", text: "x", seq: 4 }] });
  });

  it("bounds what waits for a slow post", async () => {
    const t = setup({ maxPendingBytes: 12, maxBytesPerSecond: 1_000_000 });
    t.holdPosts();
    t.line(0, "first");
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    for (let i = 1; i <= 4; i++) t.line(i, "12345");
    t.releasePost();
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    expect(t.chunks[1]).toMatchObject({ logs: [{ seq: 1 }, { seq: 2 }], dropped: 2 });
  });

  it("stops sending once the channel refuses a chunk", async () => {
    const t = setup();
    t.refuse();
    t.line(0);
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    t.line(1);
    await settle();
    expect(t.clock.pending()).toEqual([]);
    expect(t.chunks).toHaveLength(1);
  });

  it("says when lines were dropped even if no line follows them", async () => {
    const t = setup({ maxLinesPerSecond: 1 });
    t.line(0);
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    t.line(1);
    await t.clock.sleepingFor(100);
    await t.clock.advance(100);
    await settle();
    expect(t.chunks[1]).toEqual({ flashLogs: 1, logs: [], dropped: 1 });
  });

  it("close() sends nothing more: what was pending comes with the result", async () => {
    const t = setup();
    t.line(0);
    await t.clock.sleepingFor(100);
    await t.sender.close();
    await settle();
    expect(t.clock.pending()).toEqual([]);
    t.line(1);
    await t.clock.advance(1000);
    await settle();
    expect(t.chunks).toEqual([]);
  });
});

describe("function jobs with live logs", () => {
  it("stream the function's lines while it runs, wait for the post in flight, and keep the result whole", async () => {
    const { createFunctionJobRunner } = await import("../../../src/worker/job-runner.js");
    const { FUNCTION_PROTOCOL_VERSION } = await import("../../../src/common/function-protocol.js");
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let onLog: ((log: { stream: "stdout" | "stderr"; text: string }, seq: number) => void) | undefined;
    const executor = {
      cacheDir: "/x",
      prepare: async () => {},
      close: () => {},
      execute: async (_request: unknown, options: { onLog?: typeof onLog } = {}) => {
        onLog = options.onLog;
        onLog?.({ stream: "stdout", text: "working" }, 0);
        await resumed;
        return { flash: FUNCTION_PROTOCOL_VERSION, ok: true as const, result: 1, logs: [{ stream: "stdout" as const, text: "working" }], durationMs: 1 };
      },
    };
    const streamed: unknown[] = [];
    let postDone!: (ok: boolean) => void;
    const runner = createFunctionJobRunner(executor, { liveLogs: { flushMs: 1 } });
    const request = { flash: FUNCTION_PROTOCOL_VERSION, module: { hash: "a".repeat(64) }, target: { file: "f.ts", export: "f" }, args: [] };
    let finished = false;
    const run = runner
      .run(
        { id: "job-1", input: request },
        {
          signal: new AbortController().signal,
          progress: async () => {},
          stream: (output) => {
            streamed.push(output);
            return new Promise<boolean>((resolve) => (postDone = resolve));
          },
        },
      )
      .then((outcome) => {
        finished = true;
        return outcome;
      });
    const { waitFor } = await import("../../helpers/wait.js");
    await waitFor("the first chunk", () => streamed.length === 1);
    expect(streamed[0]).toEqual({ flashLogs: 1, logs: [{ stream: "stdout", text: "working", seq: 0 }] });
    resume();
    await settle();
    // The function returned while a chunk was being posted: the result waits for that post.
    expect(finished).toBe(false);
    postDone(true);
    const outcome = await run;
    expect(outcome.body.output).toMatchObject({ ok: true, logs: [{ stream: "stdout", text: "working" }] });
    expect(streamed).toHaveLength(1);
  });
});
