import { describe, expect, it } from "vitest";
import { TypedEmitter } from "../../../src/common/typed-emitter.js";
import { isAppError } from "../../../src/common/errors.js";

interface Events {
  started: { id: number };
  finished: { id: number; ok: boolean };
}

describe("TypedEmitter", () => {
  it("delivers each event to the listeners of its kind, in subscription order, until they unsubscribe", () => {
    const events = new TypedEmitter<Events>();
    const seen: string[] = [];
    const off = events.on("started", (e) => seen.push(`a${e.id}`));
    events.on("started", (e) => seen.push(`b${e.id}`));
    events.on("finished", (e) => seen.push(`f${e.id}`));
    events.emit("started", { id: 1 });
    off();
    events.emit("started", { id: 2 });
    expect(seen).toEqual(["a1", "b1", "b2"]);
  });

  it("onAny sees every kind with its name", () => {
    const events = new TypedEmitter<Events>();
    const seen: [string, unknown][] = [];
    events.onAny((kind, event) => seen.push([kind, event]));
    events.emit("started", { id: 1 });
    events.emit("finished", { id: 1, ok: true });
    expect(seen).toEqual([
      ["started", { id: 1 }],
      ["finished", { id: 1, ok: true }],
    ]);
  });

  it("once resolves with the first matching event and then stops listening", async () => {
    const events = new TypedEmitter<Events>();
    const next = events.once("finished", (e) => e.id === 2);
    events.emit("finished", { id: 1, ok: true });
    events.emit("finished", { id: 2, ok: false });
    await expect(next).resolves.toEqual({ id: 2, ok: false });
    expect(events.listenerCount("finished")).toBe(0);
  });

  it("once rejects with the signal's reason and unsubscribes when aborted", async () => {
    const events = new TypedEmitter<Events>();
    const controller = new AbortController();
    const next = events.once("started", undefined, controller.signal);
    controller.abort(new Error("gave up"));
    await expect(next).rejects.toThrow("gave up");
    expect(events.listenerCount("started")).toBe(0);
  });

  it("a listener that throws is reported and never stops the others or the emitter", () => {
    const errors: unknown[] = [];
    const events = new TypedEmitter<Events>({ onListenerError: (error) => errors.push(error) });
    const seen: number[] = [];
    events.on("started", () => {
      throw new Error("renderer bug");
    });
    events.on("started", (e) => seen.push(e.id));
    events.emit("started", { id: 7 });
    expect(seen).toEqual([7]);
    expect(errors).toHaveLength(1);
  });

  it("bounds the listeners of one kind: past the limit, subscribing is a clear error", () => {
    const events = new TypedEmitter<Events>({ maxListeners: 2 });
    events.on("started", () => {});
    events.on("started", () => {});
    let thrown: unknown;
    try {
      events.on("started", () => {});
    } catch (error) {
      thrown = error;
    }
    expect(isAppError(thrown) && thrown.code).toBe("INTERNAL");
    // Other kinds have their own budget.
    expect(() => events.on("finished", () => {})).not.toThrow();
  });
});
