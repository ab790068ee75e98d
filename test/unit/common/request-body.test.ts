import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import type { IncomingMessage } from "node:http";
import { describe, expect, it, vi } from "vitest";
import { ByteBudget } from "../../../src/common/byte-budget.js";
import { hasCode, type AppError } from "../../../src/common/errors.js";
import { hasBody, PARSED_BYTES_PER_VALUE, parseJsonBody, readBody, readJsonRequest, releaseBody, scanJson } from "../../../src/common/request-body.js";

/** A readable with headers, standing in for an IncomingMessage; chunks are written once `send()` is called (at once by default). */
function fakeRequest(headers: Record<string, string>, chunks: (string | Buffer)[], { manual = false } = {}) {
  const stream = new PassThrough();
  const req = Object.assign(stream, { headers, complete: false }) as unknown as IncomingMessage & { complete: boolean };
  stream.on("end", () => (req.complete = true));
  const send = (): void => {
    for (const c of chunks) stream.write(c);
    stream.end();
  };
  if (!manual) queueMicrotask(send);
  return Object.assign(req, { send });
}

const bytes = (text: string): Buffer => Buffer.from(text);
async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    return error as AppError;
  }
  throw new Error("expected a rejection");
}

describe("shared body reader", () => {
  it("measures nesting without recursion, ignoring brackets in strings", () => {
    const depth = (text: string): number => scanJson(bytes(text)).depth;
    expect(depth("1")).toBe(0);
    expect(depth('{"a":[1,{"b":"[[[["}]}')).toBe(3);
    expect(depth('"\\"[["')).toBe(0);
    expect(depth("[".repeat(200_000))).toBe(200_000);
    expect(depth('["é[", ["ü"]]')).toBe(2);
  });

  it("estimates the parsed size: the text, plus a slot per value (separators in strings do not count)", () => {
    expect(scanJson(bytes("")).parsedBytes).toBe(0);
    expect(scanJson(bytes('"a,b:c"')).parsedBytes).toBe(7 + PARSED_BYTES_PER_VALUE);
    expect(scanJson(bytes("[1,1,1]")).parsedBytes).toBe(7 + 3 * PARSED_BYTES_PER_VALUE);
    expect(scanJson(bytes('{"a":1,"b":2}')).parsedBytes).toBe(13 + 4 * PARSED_BYTES_PER_VALUE);
  });

  it("knows when a request has a body", () => {
    expect(hasBody(fakeRequest({}, []))).toBe(false);
    expect(hasBody(fakeRequest({ "content-length": "0" }, []))).toBe(false);
    expect(hasBody(fakeRequest({ "content-length": "3" }, []))).toBe(true);
    expect(hasBody(fakeRequest({ "transfer-encoding": "chunked" }, []))).toBe(true);
  });

  it("refuses a declared length over the limit before reading, and stops reading a stream past it", async () => {
    const declared = await failure(readBody(fakeRequest({ "content-length": "2000" }, ["x"]), { limit: 1000 }));
    expect(hasCode(declared, "BODY_TOO_LARGE")).toBe(true);
    expect(declared.details).toMatchObject({ limitBytes: 1000, declaredBytes: 2000, bodyUnread: true });
    const req = fakeRequest({ "transfer-encoding": "chunked" }, Array.from({ length: 50 }, () => Buffer.alloc(100, 0x61)));
    expect(hasCode(await failure(readBody(req, { limit: 1000 })), "BODY_TOO_LARGE")).toBe(true);
    expect(req.listenerCount("data")).toBe(0);
  });

  it("copies a declared body into one buffer of its length as it arrives (no chunk list, no concatenation)", async () => {
    const parts = ["ab", "cd", "ef"];
    const concat = vi.spyOn(Buffer, "concat");
    const declared = await readBody(fakeRequest({ "content-length": "6" }, parts), { limit: 100 });
    expect(declared.toString()).toBe("abcdef");
    expect(concat).not.toHaveBeenCalled();
    expect((await readBody(fakeRequest({ "transfer-encoding": "chunked" }, parts), { limit: 100 })).toString()).toBe("abcdef");
  });

  it("reserves a body's bytes in the budget until its response closes", async () => {
    const budget = new ByteBudget(1000);
    const response = new EventEmitter();
    await readBody(fakeRequest({ "content-length": "600" }, [Buffer.alloc(600)]), { limit: 1000, budget, heldUntil: response });
    expect(budget.usedBytes).toBe(600);
    // Another 600 bytes do not fit while the first body is held: refused before a byte is read.
    const second = fakeRequest({ "content-length": "600" }, [Buffer.alloc(600)], { manual: true });
    const refused = await failure(readBody(second, { limit: 1000, budget, heldUntil: new EventEmitter(), overloadHint: "raise X" }));
    expect(hasCode(refused, "SERVICE_UNAVAILABLE")).toBe(true);
    expect(refused.status).toBe(503);
    expect(refused.hint).toBe("raise X");
    expect(refused.details).toMatchObject({ retryAfterSeconds: 1, bodyUnread: true });
    expect(second.listenerCount("data")).toBe(0);
    response.emit("close");
    expect(budget.usedBytes).toBe(0);
    await readBody(fakeRequest({ "content-length": "600" }, [Buffer.alloc(600)]), { limit: 1000, budget, heldUntil: new EventEmitter() });
    expect(budget.usedBytes).toBe(600);
  });

  it("counts a chunked body as it arrives, and refuses it once the budget is spent", async () => {
    const budget = new ByteBudget(1000);
    budget.take(700);
    const req = fakeRequest({ "transfer-encoding": "chunked" }, Array.from({ length: 5 }, () => Buffer.alloc(100)));
    expect(hasCode(await failure(readBody(req, { limit: 10_000, budget, heldUntil: new EventEmitter() })), "SERVICE_UNAVAILABLE")).toBe(true);
    expect(budget.usedBytes).toBe(700);
  });

  it("gives the bytes back early on request, and on failure", async () => {
    const budget = new ByteBudget(1000);
    const req = fakeRequest({ "content-length": "300" }, [Buffer.alloc(300)]);
    await readBody(req, { limit: 1000, budget, heldUntil: new EventEmitter() });
    releaseBody(req);
    expect(budget.usedBytes).toBe(0);
    const cut = fakeRequest({ "content-length": "300" }, [], { manual: true });
    const pending = readBody(cut, { limit: 1000, budget, heldUntil: new EventEmitter() });
    expect(budget.usedBytes).toBe(300);
    (cut as unknown as PassThrough).write("partial");
    cut.destroy();
    const error = await failure(pending);
    expect(hasCode(error, "INVALID_INPUT")).toBe(true);
    expect(error.details).toMatchObject({ clientClosed: true });
    expect(budget.usedBytes).toBe(0);
  });

  it("refuses a body whose parsed value would not fit beside the others (503), and parses it alone", async () => {
    const budget = new ByteBudget(1000);
    const text = `[${"1,".repeat(99)}1]`; // 201 bytes, 100 values: ~1.8 KB once parsed
    const held = budget.reserve(100)!;
    const refused = await failure(readJsonRequest(fakeRequest({ "content-length": "201" }, [text]), { limit: 1000, budget, heldUntil: new EventEmitter() }));
    expect(hasCode(refused, "SERVICE_UNAVAILABLE")).toBe(true);
    expect(refused.message).toMatch(/about 1\.8 KB once parsed/);
    expect(refused.details).toMatchObject({ bodyUnread: false });
    expect(budget.usedBytes).toBe(100);
    held.release();
    const response = new EventEmitter();
    const read = await readJsonRequest(fakeRequest({ "content-length": "201" }, [text]), { limit: 1000, budget, heldUntil: response });
    expect(read.body).toMatchObject({ present: true, value: expect.any(Array) });
    expect(budget.usedBytes).toBe(read.parsedBytes);
    response.emit("close");
    expect(budget.usedBytes).toBe(0);
  });

  it("with discardUpTo, reads and drops the rest of a refused body before failing", async () => {
    const req = fakeRequest({ "content-length": "1500" }, [Buffer.alloc(1500)]);
    const error = await failure(readBody(req, { limit: 1000, discardUpTo: 1000 }));
    expect(hasCode(error, "BODY_TOO_LARGE")).toBe(true);
    expect(error.details).toMatchObject({ bodyUnread: false });
    expect(req.readableEnded).toBe(true);
  });

  it("parses JSON, treats blank bodies as absent, and refuses bad UTF-8, bad JSON and deep nesting", () => {
    expect(parseJsonBody(bytes('{"a":1}'))).toEqual({ present: true, value: { a: 1 } });
    expect(parseJsonBody(bytes(" \n "))).toEqual({ present: false });
    expect(parseJsonBody(Buffer.alloc(0))).toEqual({ present: false });
    expect(parseJsonBody(Buffer.from([0xef, 0xbb, 0xbf, 0x31]))).toMatchObject({ value: 1 });
    const codeOf = (run: () => unknown): string | undefined => {
      try {
        run();
      } catch (e) {
        return (e as AppError).code;
      }
      return undefined;
    };
    expect(codeOf(() => parseJsonBody(bytes("{x")))).toBe("INVALID_JSON");
    expect(codeOf(() => parseJsonBody(Buffer.from([0x22, 0xff, 0x22])))).toBe("INVALID_JSON");
    expect(codeOf(() => parseJsonBody(bytes("[[[1]]]"), { maxDepth: 2 }))).toBe("INVALID_BODY");
    expect(codeOf(() => parseJsonBody(bytes("[".repeat(100_000) + "]".repeat(100_000))))).toBe("INVALID_BODY");
  });
});
