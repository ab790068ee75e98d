import { describe, expect, it } from "vitest";
import { BackendHolder } from "../../../src/dev/backend-holder.js";
import type { Backend } from "../../../src/dev/backend.js";
import { DevSessionEmitter } from "../../../src/dev/session-events.js";
import type { DevSessionEvents } from "../../../src/dev/session-events.js";
import { FakeClock } from "../../helpers/fake-clock.js";
import { deferred } from "../../helpers/server-fixtures.js";
import { fakeBackend } from "./fake-parts.js";

function setUp(drainDeadlineMs = 60_000) {
  const clock = new FakeClock();
  const events = new DevSessionEmitter();
  const retired: DevSessionEvents["backendRetired"][] = [];
  events.on("backendRetired", (e) => retired.push(e));
  const first = fakeBackend("first");
  const holder = new BackendHolder({ first, clock, events, drainDeadlineMs });
  return { clock, events, retired, first, holder };
}

/** A call held open on whichever backend is current when it starts. */
function holdCall(holder: BackendHolder): { on: Backend; finish: () => void; done: Promise<void> } {
  const release = deferred();
  let on!: Backend;
  const done = holder.use(async (b) => {
    on = b;
    await release.promise;
  });
  return { on, finish: () => release.resolve(), done };
}

describe("BackendHolder", () => {
  it("sends new calls to the new backend and closes the old one when its last call ends, on that event", async () => {
    const { events, retired, first, holder } = setUp();
    const call = holdCall(holder);
    expect(call.on).toBe(first);
    const swapped = events.once("backendSwapped");
    const second = fakeBackend("second");
    holder.swap(second, "env");
    expect(await swapped).toMatchObject({ from: { description: "first" }, to: { description: "second" }, reason: "env" });
    expect(holder.current).toBe(second);
    expect(holdCall(holder).on).toBe(second);
    expect(first.closed).toBe(false);

    const retiredEvent = events.once("backendRetired");
    call.finish();
    await call.done;
    expect(await retiredEvent).toMatchObject({ backend: { description: "first" }, drained: true });
    expect(first.closed).toBe(true);
    expect(second.closed).toBe(false);
    expect(retired).toHaveLength(1);
  });

  it("closes an idle old backend at once", async () => {
    const { events, first, holder } = setUp();
    const retiredEvent = events.once("backendRetired");
    holder.swap(fakeBackend("second"), "env");
    expect(await retiredEvent).toMatchObject({ drained: true, waitedMs: 0 });
    expect(first.closed).toBe(true);
  });

  it("closes the old backend at the deadline when a call never ends", async () => {
    const { clock, events, first, holder } = setUp(15 * 60_000);
    holdCall(holder);
    holder.swap(fakeBackend("second"), "env");
    await clock.sleepingFor(15 * 60_000);
    await clock.advance(15 * 60_000 - 1);
    expect(first.closed).toBe(false);
    const retiredEvent = events.once("backendRetired");
    await clock.advance(1);
    expect(await retiredEvent).toMatchObject({ drained: false, waitedMs: 15 * 60_000 });
    expect(first.closed).toBe(true);
  });

  it("close() closes the current backend and those still draining, without waiting for their calls", async () => {
    const { first, holder } = setUp();
    holdCall(holder);
    const second = fakeBackend("second");
    holder.swap(second, "env");
    await holder.close();
    expect(first.closed).toBe(true);
    expect(second.closed).toBe(true);
  });

  it("counts calls in flight per backend, and a failed call counts as ended", async () => {
    const { first, holder } = setUp();
    const held = holdCall(holder);
    await expect(
      holder.use(async () => {
        throw new Error("failed");
      }),
    ).rejects.toThrow("failed");
    expect(holder.inFlight(first)).toBe(1);
    held.finish();
    await held.done;
    expect(holder.inFlight(first)).toBe(0);
  });
});
