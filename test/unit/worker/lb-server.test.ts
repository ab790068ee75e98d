import { afterEach, describe, expect, it } from "vitest";
import { FUNCTION_PROTOCOL_VERSION } from "../../../src/common/function-protocol.js";
import type { FunctionRequest, FunctionResponse } from "../../../src/common/function-protocol.js";
import { nullLogger } from "../../../src/common/logger.js";
import { startLbServer } from "../../../src/worker/lb-server.js";
import type { LbServer } from "../../../src/worker/lb-server.js";

const ok = (result: unknown): FunctionResponse => ({ flash: FUNCTION_PROTOCOL_VERSION, ok: true, result: result as null, logs: [], durationMs: 1 });
const request: FunctionRequest = { flash: 1, module: { hash: "a".repeat(64) }, target: { file: "f.ts", export: "f" }, args: [1] };

let server: LbServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(execute: (r: FunctionRequest, o: { signal: AbortSignal }) => Promise<FunctionResponse>, extra: { bodyLimit?: number; healthPath?: string } = {}): Promise<LbServer> {
  server = await startLbServer({ port: 0, host: "127.0.0.1", execute, logger: nullLogger, ...extra });
  return server;
}

describe("load-balanced worker server", () => {
  it("answers the health check 204 while initialising and 200 once ready", async () => {
    const s = await start(async () => ok(null), { healthPath: "/health" });
    const first = await fetch(`${s.url}/health`);
    expect(first.status).toBe(204);
    s.setReady();
    const second = await fetch(`${s.url}/health`);
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ status: "healthy" });
  });

  it("runs POST /execute and answers the FunctionResponse", async () => {
    const seen: FunctionRequest[] = [];
    const s = await start(async (r) => {
      seen.push(r);
      return ok({ echoed: r.args });
    });
    const res = await fetch(`${s.url}/execute`, { method: "POST", body: JSON.stringify(request), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(ok({ echoed: [1] }));
    expect(seen[0]?.target).toEqual({ file: "f.ts", export: "f" });
  });

  it("answers 400 for invalid JSON, 422 INVALID_INPUT for an invalid request, 404/405 for other routes", async () => {
    const s = await start(async () => ok(null));
    const badJson = await fetch(`${s.url}/execute`, { method: "POST", body: "{nope" });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe("INVALID_JSON");
    const badRequest = await fetch(`${s.url}/execute`, { method: "POST", body: JSON.stringify({ flash: 1 }) });
    expect(badRequest.status).toBe(422);
    const refusal = (await badRequest.json()) as { error: { code: string; message: string } };
    expect(refusal.error.code).toBe("INVALID_INPUT");
    expect(refusal.error.message).toContain("module must be { hash");
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/execute`)).status).toBe(405);
  });

  it("answers 413 over the body limit", async () => {
    const s = await start(async () => ok(null), { bodyLimit: 1000 });
    const res = await fetch(`${s.url}/execute`, { method: "POST", body: "x".repeat(5000) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("BODY_TOO_LARGE");
  });

  it("finishes requests in flight when closed, then refuses new connections", async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const s = await start(async () => {
      started();
      await gate;
      return ok("finished");
    });
    s.setReady();
    const inFlight = fetch(`${s.url}/execute`, { method: "POST", body: JSON.stringify(request) });
    await running;
    const closing = s.close();
    finish();
    const res = await inFlight;
    expect(await res.json()).toEqual(ok("finished"));
    await closing;
    await expect(fetch(`${s.url}/ping`)).rejects.toThrow();
    server = undefined;
  });

  it("abort() cuts a request in flight instead of waiting for it", async () => {
    let received!: () => void;
    const gotRequest = new Promise<void>((r) => (received = r));
    const s = await start(() => {
      received();
      return new Promise(() => {});
    });
    const pending = fetch(`${s.url}/execute`, { method: "POST", body: JSON.stringify(request) }).then(
      () => "answered",
      () => "cut",
    );
    await gotRequest;
    await s.abort();
    expect(await pending).toBe("cut");
    server = undefined;
  });

  it("aborts the call's signal when the client goes away", async () => {
    let received!: () => void;
    const gotRequest = new Promise<void>((r) => (received = r));
    let aborted!: () => void;
    const wasAborted = new Promise<void>((r) => (aborted = r));
    const s = await start(
      (_r, { signal }) =>
        new Promise((resolve) => {
          received();
          signal.addEventListener("abort", () => {
            aborted();
            resolve(ok(null));
          });
        }),
    );
    const controller = new AbortController();
    const pending = fetch(`${s.url}/execute`, { method: "POST", body: JSON.stringify(request), signal: controller.signal }).catch(() => "aborted");
    await gotRequest;
    controller.abort();
    expect(await pending).toBe("aborted");
    await wasAborted;
  });
});
