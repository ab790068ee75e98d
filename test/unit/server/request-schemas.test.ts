/** How an input schema appears in a queue request body and in a load-balanced route's body, query and path. */
import { describe, expect, it } from "vitest";
import { loadBalancedRequest, queueRequestSchema } from "../../../src/server/request-schemas.js";
import type { JsonSchema } from "../../../src/common/json-schema.js";

const REF = "#/components/schemas/";

const definitions: Record<string, JsonSchema> = {
  Query: { title: "Query", type: "object", properties: { id: { type: "number" }, q: { type: "string" }, limit: { type: "number" } }, required: ["id", "q"] },
};

describe("queueRequestSchema", () => {
  it("wraps the input in {input} and requires it only when the parameter is required", () => {
    expect(queueRequestSchema({ input: { type: "string" }, inputRequired: true })).toEqual({
      type: "object",
      description: 'The function receives the value of "input"; a body without an "input" key is passed whole.',
      properties: { input: { type: "string" } },
      required: ["input"],
    });
    expect(queueRequestSchema({ input: null, inputRequired: false }).required).toBeUndefined();
  });
});

describe("loadBalancedRequest", () => {
  it("types path parameters from the input and leaves them out of the body", () => {
    expect(loadBalancedRequest({ input: { $ref: `${REF}Query` } }, definitions, { method: "POST", pathParams: ["id"] })).toEqual({
      body: { title: "Query", type: "object", properties: { q: { type: "string" }, limit: { type: "number" } }, required: ["q"] },
      query: [],
      path: [{ name: "id", required: true, schema: { type: "number" } }],
    });
  });

  it("turns a GET input's properties into query parameters", () => {
    expect(loadBalancedRequest({ input: { $ref: `${REF}Query` } }, definitions, { method: "GET", pathParams: [] })).toEqual({
      query: [
        { name: "id", required: true, schema: { type: "number" } },
        { name: "q", required: true, schema: { type: "string" } },
        { name: "limit", required: false, schema: { type: "number" } },
      ],
      path: [],
    });
  });

  it("passes a non-object input through as the body, and untyped path parameters as strings", () => {
    expect(loadBalancedRequest({ input: { "x-flash-any": "unknown" } }, definitions, { method: "DELETE", pathParams: ["id"] })).toEqual({
      body: { "x-flash-any": "unknown" },
      query: [],
      path: [{ name: "id", required: true, schema: { type: "string" } }],
    });
  });
});
