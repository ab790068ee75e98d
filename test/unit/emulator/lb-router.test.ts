import { describe, expect, it } from "vitest";
import { LbRouter } from "../../../src/emulator/lb-router.js";
import { createPoolWorker, type PoolWorker } from "../../../src/emulator/pool-worker.js";

const EP = "abcdefghijklmn";

function setup() {
  const workers = new Set<PoolWorker>();
  const router = new LbRouter({
    workersOf: () => workers,
    isFresh: () => true,
    canStart: () => true,
    wanted: () => {},
    busyChanged: () => {},
  });
  const worker = createPoolWorker({ id: "w1", endpointId: EP, kind: "launched", version: 1, now: Date.now() });
  const makeReady = (): void => {
    worker.phase = "ready";
    worker.port = 1234;
    workers.add(worker);
    router.workerReady(worker);
  };
  return { router, worker, makeReady };
}

describe("LbRouter", () => {
  it("hands a worker that turns ready to the waiting request, with its slot taken", async () => {
    const { router, worker, makeReady } = setup();
    const pending = router.acquire(EP, { timeoutMs: 10_000 });
    expect(router.waiting(EP)).toBe(1);
    makeReady();
    expect(await pending).toBe(worker);
    expect(worker.inFlight).toBe(1);
    router.release(worker);
    expect(worker.inFlight).toBe(0);
  });

  it("drops a waiting request whose client went away: no slot is taken when a worker turns ready", async () => {
    const { router, worker, makeReady } = setup();
    const gone = new AbortController();
    const pending = router.acquire(EP, { timeoutMs: 10_000, signal: gone.signal });
    gone.abort();
    await expect(pending).rejects.toMatchObject({ status: 499 });
    expect(router.waiting(EP)).toBe(0);
    makeReady();
    expect(worker.inFlight).toBe(0);
  });

  it("does not claim a worker for a request already abandoned", async () => {
    const { router, worker, makeReady } = setup();
    makeReady();
    const gone = new AbortController();
    gone.abort();
    await expect(router.acquire(EP, { timeoutMs: 10_000, signal: gone.signal })).rejects.toMatchObject({ status: 499 });
    expect(worker.inFlight).toBe(0);
  });
});
