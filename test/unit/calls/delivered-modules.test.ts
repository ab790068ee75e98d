import { describe, expect, it } from "vitest";
import { DeliveredModules } from "../../../src/calls/delivered-modules.js";

describe("delivered modules (per endpoint, bounded)", () => {
  it("remembers hashes per endpoint and forgets on request", () => {
    const delivered = new DeliveredModules();
    delivered.add("ep1", "h1");
    expect(delivered.has("ep1", "h1")).toBe(true);
    expect(delivered.has("ep2", "h1")).toBe(false);
    delivered.forget("ep1", "h1");
    expect(delivered.has("ep1", "h1")).toBe(false);
  });

  it("drops the least recently used hash and endpoint past its limits", () => {
    const delivered = new DeliveredModules({ maxEndpoints: 2, maxPerEndpoint: 2 });
    delivered.add("ep1", "a");
    delivered.add("ep1", "b");
    delivered.add("ep1", "a"); // used again: "b" is now the oldest
    delivered.add("ep1", "c");
    expect(["a", "b", "c"].map((h) => delivered.has("ep1", h))).toEqual([true, false, true]);
    delivered.add("ep2", "x");
    delivered.add("ep1", "a"); // ep2 is now the least recently used endpoint
    delivered.add("ep3", "y");
    expect([delivered.has("ep1", "a"), delivered.has("ep2", "x"), delivered.has("ep3", "y")]).toEqual([true, false, true]);
  });
});
