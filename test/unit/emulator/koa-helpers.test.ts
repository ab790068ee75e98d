/** holdForClient over a real Koa server: a held long-poll is cancelled when its client leaves, and only then. */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import Koa from "koa";
import { afterEach, describe, expect, it } from "vitest";
import { holdForClient } from "../../../src/emulator/koa-helpers.js";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A server whose one route holds on a promise until `release` or its cancel runs. */
async function holdingServer(): Promise<{ url: string; held: Promise<void>; cancelled: Promise<void>; release(value: string): void; cancels(): number }> {
  let release!: (value: string) => void;
  let cancelCount = 0;
  let onHeld!: () => void;
  let onCancel!: () => void;
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  const cancelled = new Promise<void>((resolve) => (onCancel = resolve));
  const app = new Koa();
  app.use(async (ctx) => {
    const wait = new Promise<string>((resolve) => (release = resolve));
    onHeld();
    ctx.body = await holdForClient(ctx, wait, () => {
      cancelCount += 1;
      release("cancelled");
      onCancel();
    });
  });
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  close = () => new Promise((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, held, cancelled, release: (v) => release(v), cancels: () => cancelCount };
}

describe("holdForClient", () => {
  it("cancels the held wait when the client goes away", async () => {
    const s = await holdingServer();
    const abort = new AbortController();
    const request = fetch(s.url, { signal: abort.signal }).catch(() => undefined);
    await s.held;
    abort.abort();
    await request;
    await s.cancelled;
    expect(s.cancels()).toBe(1);
  });

  it("answers with what the wait gave, and does not cancel after a finished answer", async () => {
    const s = await holdingServer();
    const response = fetch(s.url);
    await s.held;
    s.release("job");
    const res = await response;
    expect(await res.text()).toBe("job");
    await close?.();
    close = undefined;
    expect(s.cancels()).toBe(0);
  });
});
