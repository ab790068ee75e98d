/**
 * The types user code sees (checked by tsc in `npm run lint`; the runtime
 * assertions only keep vitest honest): definitions keep the function's
 * parameters and awaited result, clients return promises of what is asked.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { Endpoint } from "../../../src/sdk/index.js";
import type { EndpointJob } from "../../../src/sdk/index.js";

describe("Endpoint types", () => {
  it("definitions keep the function's signature; client calls are typed by their type argument", () => {
    const ep = new Endpoint({ name: "types" });
    const add = ep.fn(async (input: { a: number; b: number }) => input.a + input.b);
    expectTypeOf(add).parameters.toEqualTypeOf<[{ a: number; b: number }]>();
    expectTypeOf(add).returns.toEqualTypeOf<Promise<number>>();
    const api = new Endpoint({ name: "types-api" });
    const echo = api.post("/echo", (body: { text: string }) => body.text);
    expectTypeOf(echo).returns.toEqualTypeOf<Promise<string>>();
    const one = Endpoint.fn({ name: "one" }, async () => 1);
    expectTypeOf(one).returns.toEqualTypeOf<Promise<number>>();

    const client = new Endpoint({ id: "abc123" });
    // Types only: never called (the calls would go out).
    const calls = (): void => {
      expectTypeOf(client.post<{ ok: boolean }>("/x", { a: 1 })).toEqualTypeOf<Promise<{ ok: boolean }>>();
      expectTypeOf(client.get("/x", { q: 1 })).toEqualTypeOf<Promise<unknown>>();
      expectTypeOf(client.run<{ out: string }>({})).toEqualTypeOf<Promise<EndpointJob<{ out: string }>>>();
    };
    expect(typeof add).toBe("function");
    expect(typeof calls).toBe("function");
  });
});
