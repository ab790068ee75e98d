import { PassThrough } from "node:stream";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { hasCode } from "../../../src/shared/errors.js";
import { checkJsonContentType, hasBody, jsonDepth, readJsonBody, readRawBody } from "../../../src/server/body-reader.js";
import { queryToMap, readQbInput } from "../../../src/server/request-input.js";

/** A readable with headers, standing in for an IncomingMessage. */
function fakeRequest(headers: Record<string, string>, chunks: (string | Buffer)[]): IncomingMessage {
  const stream = new PassThrough();
  const req = Object.assign(stream, { headers, complete: false }) as unknown as IncomingMessage & { complete: boolean };
  stream.on("end", () => (req.complete = true));
  queueMicrotask(() => {
    for (const c of chunks) stream.write(c);
    stream.end();
  });
  return req;
}

describe("body reader", () => {
  it("measures nesting without recursion, ignoring brackets in strings", () => {
    expect(jsonDepth("1")).toBe(0);
    expect(jsonDepth('{"a":[1,{"b":"[[[["}]}')).toBe(3);
    expect(jsonDepth('"\\"[["')).toBe(0);
    expect(jsonDepth("[".repeat(200_000))).toBe(200_000);
  });

  it("knows when a request has a body", () => {
    expect(hasBody(fakeRequest({}, []))).toBe(false);
    expect(hasBody(fakeRequest({ "content-length": "0" }, []))).toBe(false);
    expect(hasBody(fakeRequest({ "content-length": "3" }, []))).toBe(true);
    expect(hasBody(fakeRequest({ "transfer-encoding": "chunked" }, []))).toBe(true);
  });

  it("accepts JSON types, curl's default form type, text/plain and no type; refuses others with 415", () => {
    for (const type of ["application/json", "Application/JSON; Charset=UTF-8", "application/ld+json", 'application/json; charset="utf-8"', "application/x-www-form-urlencoded", "text/plain"]) {
      expect(() => checkJsonContentType(fakeRequest({ "content-type": type }, []))).not.toThrow();
    }
    expect(() => checkJsonContentType(fakeRequest({}, []))).not.toThrow();
    for (const type of ["multipart/form-data; boundary=x", "application/xml", "application/jsonx", "application/json; charset=iso-8859-1", "json"]) {
      let error: unknown;
      try {
        checkJsonContentType(fakeRequest({ "content-type": type }, []));
      } catch (e) {
        error = e;
      }
      expect(hasCode(error, "INVALID_BODY") && (error as { status: number }).status === 415, type).toBe(true);
    }
  });

  it("refuses a declared length over the limit before reading, and stops reading a stream past it", async () => {
    await expect(readRawBody(fakeRequest({ "content-length": "2000" }, ["x"]), 1000)).rejects.toSatisfy((e) => hasCode(e, "BODY_TOO_LARGE"));
    const chunks = Array.from({ length: 50 }, () => Buffer.alloc(100, 0x61));
    const req = fakeRequest({ "transfer-encoding": "chunked" }, chunks);
    await expect(readRawBody(req, 1000)).rejects.toSatisfy((e) => hasCode(e, "BODY_TOO_LARGE"));
    expect(req.listenerCount("data")).toBe(0);
  });

  it("parses JSON, treats blank bodies as absent, and reports bad JSON", async () => {
    const opts = { limit: 1000 };
    expect(await readJsonBody(fakeRequest({ "content-length": "7" }, ['{"a":1}']), opts)).toEqual({ present: true, value: { a: 1 } });
    expect(await readJsonBody(fakeRequest({ "content-length": "3" }, [" \n "]), opts)).toEqual({ present: false });
    await expect(readJsonBody(fakeRequest({ "content-length": "2" }, ["{x"]), opts)).rejects.toSatisfy((e) => hasCode(e, "INVALID_JSON"));
    await expect(readJsonBody(fakeRequest({ "content-length": "9" }, ["[[[1]]]"]), { limit: 100, maxDepth: 2 })).rejects.toSatisfy((e) =>
      hasCode(e, "INVALID_BODY"),
    );
  });

  it("reports a body cut off by the client", async () => {
    const stream = new PassThrough();
    const req = Object.assign(stream, { headers: { "content-length": "100" }, complete: false }) as unknown as IncomingMessage;
    const pending = readRawBody(req, 1000);
    stream.write("partial");
    stream.destroy();
    await expect(pending).rejects.toSatisfy((e) => hasCode(e, "INVALID_INPUT"));
  });
});

describe("request input", () => {
  it("maps a query string, last repeated key winning", () => {
    expect(queryToMap("a=1&a=2&b=%20x&c")).toEqual({ a: "2", b: " x", c: "" });
    expect(queryToMap("")).toEqual({});
  });

  it("QB: input key wins even when null; otherwise the whole body", async () => {
    const req = (text: string): IncomingMessage => fakeRequest({ "content-length": String(Buffer.byteLength(text)) }, [text]);
    expect(await readQbInput(req('{"input":null}'), { limit: 100 })).toBeNull();
    expect(await readQbInput(req('{"x":1}'), { limit: 100 })).toEqual({ x: 1 });
    expect(await readQbInput(fakeRequest({}, []), { limit: 100 })).toEqual({});
  });
});
