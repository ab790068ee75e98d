import { PassThrough } from "node:stream";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { hasCode } from "../../../src/common/errors.js";
import { checkJsonContentType, readJsonBody } from "../../../src/server/body-reader.js";
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

describe("dev server body reader", () => {
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

  it("parses JSON, treats blank bodies as absent, and reports bad JSON and deep nesting", async () => {
    const opts = { limit: 1000 };
    expect(await readJsonBody(fakeRequest({ "content-length": "7" }, ['{"a":1}']), opts)).toEqual({ present: true, value: { a: 1 } });
    expect(await readJsonBody(fakeRequest({ "content-length": "3" }, [" \n "]), opts)).toEqual({ present: false });
    await expect(readJsonBody(fakeRequest({ "content-length": "2" }, ["{x"]), opts)).rejects.toSatisfy((e) => hasCode(e, "INVALID_JSON"));
    await expect(readJsonBody(fakeRequest({ "content-length": "9" }, ["[[[1]]]"]), { limit: 100, maxDepth: 2 })).rejects.toSatisfy((e) =>
      hasCode(e, "INVALID_BODY"),
    );
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
