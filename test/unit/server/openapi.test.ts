import { describe, expect, it } from "vitest";
import { buildOpenApiDocument, filePrefix } from "../../../src/server/openapi.js";
import { createRouteGeneration } from "../../../src/server/route-generation.js";
import { ERROR_STATUS } from "../../../src/common/errors.js";
import { lbEntry, manifestOf, qbEntry, standardFunctions } from "../../helpers/server-fixtures.js";
import type { FunctionSchemas } from "../../../src/discovery/type-schema/index.js";
import type { GenerationSchemas } from "../../../src/server/function-schemas.js";

type Json = Record<string, unknown>;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** Follows a local JSON pointer ref. */
function resolveRef(doc: Json, ref: string): unknown {
  expect(ref.startsWith("#/")).toBe(true);
  return ref
    .slice(2)
    .split("/")
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
}

/** Every $ref anywhere in the document resolves. */
function checkRefs(doc: Json, node: unknown, where: string, problems: string[]): void {
  if (Array.isArray(node)) node.forEach((n, i) => checkRefs(doc, n, `${where}/${i}`, problems));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && (typeof v !== "string" || resolveRef(doc, v) === undefined)) problems.push(`${where}: dangling ${String(v)}`);
      else checkRefs(doc, v, `${where}/${k}`, problems);
    }
  }
}

/** The structural rules of OpenAPI 3.1 this document relies on. */
function validate(doc: Json): string[] {
  const problems: string[] = [];
  if (doc.openapi !== "3.1.0") problems.push("openapi must be 3.1.0");
  const info = doc.info as Json | undefined;
  if (typeof info?.title !== "string" || typeof info.version !== "string") problems.push("info.title and info.version are required strings");
  const tagNames = new Set(((doc.tags as Json[]) ?? []).map((t) => t.name));
  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    if (!path.startsWith("/")) problems.push(`${path}: must start with /`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method)) problems.push(`${path}: unknown method ${method}`);
      const o = op as Json;
      const id = o.operationId as string;
      if (typeof id !== "string" || ids.has(id)) problems.push(`${method} ${path}: operationId missing or duplicated (${id})`);
      ids.add(id);
      const params = (o.parameters as Json[] | undefined) ?? [];
      const pathParams = params.filter((p) => p.in === "path");
      for (const name of templated) {
        const p = pathParams.find((x) => x.name === name);
        if (!p || p.required !== true) problems.push(`${method} ${path}: path parameter ${name} must be declared and required`);
      }
      for (const p of pathParams) if (!templated.includes(p.name as string)) problems.push(`${method} ${path}: extra path parameter ${String(p.name)}`);
      for (const p of params) if (!["path", "query", "header", "cookie"].includes(p.in as string)) problems.push(`${method} ${path}: bad parameter location`);
      const responses = o.responses as Record<string, Json> | undefined;
      if (!responses || Object.keys(responses).length === 0) problems.push(`${method} ${path}: no responses`);
      for (const [code, r] of Object.entries(responses ?? {})) {
        if (!/^[1-5]\d\d$|^default$/.test(code)) problems.push(`${method} ${path}: bad status ${code}`);
        const resolved = (r.$ref ? resolveRef(doc, r.$ref as string) : r) as Json | undefined;
        if (typeof (r.description ?? resolved?.description) !== "string") problems.push(`${method} ${path} ${code}: no description`);
      }
      const body = o.requestBody as Json | undefined;
      if (body && typeof body.content !== "object") problems.push(`${method} ${path}: requestBody without content`);
      for (const tag of (o.tags as string[]) ?? []) if (!tagNames.has(tag)) problems.push(`${method} ${path}: undeclared tag ${tag}`);
    }
  }
  checkRefs(doc, doc, "#", problems);
  return problems;
}

describe("buildOpenApiDocument", () => {
  const functions = standardFunctions();
  const generation = createRouteGeneration(manifestOf(functions, 3));
  const doc = buildOpenApiDocument(generation, { version: "1.2.3" });
  const paths = doc.paths as Record<string, Record<string, Json>>;

  it("is a structurally valid OpenAPI 3.1 document that survives JSON", () => {
    expect(validate(doc)).toEqual([]);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    expect(doc.info).toMatchObject({ title: "Flash Dev Server", version: "1.2.3" });
    expect(doc["x-flash-generation"]).toBe(3);
  });

  it("has every route and alias with its method", () => {
    for (const f of functions) {
      for (const p of [f.route.path, ...f.route.aliases]) {
        const key = p.replace(/:(\w+)/g, "{$1}");
        expect(paths[key]?.[f.route.method.toLowerCase()], `${f.route.method} ${p}`).toBeDefined();
      }
    }
    expect(paths["/"]?.get).toBeDefined();
    expect(paths["/ping"]?.get).toBeDefined();
  });

  it("describes QB bodies and responses, LB params, and tags per file", () => {
    const qb = paths["/gpu_worker/run_sync"]!.post!;
    expect(qb.tags).toEqual(["gpu_worker [QB]"]);
    expect(JSON.stringify(qb.requestBody)).toContain("#/components/schemas/QueueRequest");
    expect(JSON.stringify((qb.responses as Json)["200"])).toContain("#/components/schemas/QueueResponse");
    expect(qb["x-flash-function"]).toMatchObject({ kind: "QB", endpoint: "live-gpu-worker", file: "gpu_worker.ts" });
    const alias = paths["/gpu_worker/runsync"]!.post!;
    expect(alias["x-flash-alias-of"]).toBe("/gpu_worker/run_sync");

    const get = paths["/lb_worker/items/{id}"]!.get!;
    expect(get.tags).toEqual(["lb_worker [LB]"]);
    expect(get.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "id", in: "path" }), expect.objectContaining({ in: "query", style: "form", explode: true })]),
    );
    expect(get.requestBody).toBeUndefined();
    const put = paths["/lb_worker/items/{id}"]!.put!;
    expect(put.requestBody).toBeDefined();
    expect(put.parameters).toEqual([expect.objectContaining({ name: "id", in: "path" })]);
    expect(paths["/tools/local/echo"]!.post!["x-flash-function"]).toMatchObject({ local: true });

    const schemas = (doc.components as Json).schemas as Record<string, Json>;
    const errorCode = ((schemas.Error!.properties as Json).error as Json).properties as Record<string, Json>;
    expect(errorCode.code!.enum).toEqual(Object.keys(ERROR_STATUS));
    const tags = (doc.tags as Json[]).map((t) => t.name);
    expect(tags).toEqual(["health", "gpu_worker [QB]", "multi [QB]", "lb_worker [LB]", "tools/local [LB]"]);
  });

  it("without a generation has only the health routes", () => {
    const empty = buildOpenApiDocument(undefined, { version: "0", title: "My API" });
    expect(Object.keys(empty.paths as Json)).toEqual(["/", "/ping"]);
    expect(validate(empty)).toEqual([]);
    expect((empty.info as Json).title).toBe("My API");
  });

  it("strips TS/JS extensions for prefixes", () => {
    expect(filePrefix("workers/gpu/infer.ts")).toBe("workers/gpu/infer");
    expect(filePrefix("a.mjs")).toBe("a");
    expect(filePrefix("a.cts")).toBe("a");
  });
});

describe("buildOpenApiDocument with type schemas", () => {
  const REF = "#/components/schemas/";
  const entries = [
    qbEntry("greet.ts", "greet", { many: true }),
    qbEntry("greet.ts", "fireAndForget", { many: true }),
    lbEntry("items.ts", "list", "GET", "/items"),
    lbEntry("items.ts", "update", "PUT", "/items/:id"),
    lbEntry("items.ts", "remove", "DELETE", "/items/:id"),
    qbEntry("broken.ts", "old", { many: true }),
  ];
  const generation = createRouteGeneration(manifestOf(entries, 7));
  const fnSchemas = (id: string, extra: Partial<FunctionSchemas>): FunctionSchemas => ({
    id,
    input: null,
    inputRequired: false,
    output: {},
    returnsValue: true,
    notes: { input: [], output: [] },
    ...extra,
  });
  const schemas: GenerationSchemas = {
    status: "ready",
    definitions: {
      Greeting: { title: "Greeting", type: "object", properties: { name: { type: "string", description: "Who to greet." }, times: { type: "number" } }, required: ["name"] },
      Item: { title: "Item", type: "object", properties: { id: { type: "number" }, label: { type: "string" }, callback: { "x-flash-any": "function" } }, required: ["id", "label"] },
    },
    functions: {
      "greet.ts#greet": fnSchemas("greet.ts#greet", {
        summary: "Greets someone.",
        description: "Says hello as many times as asked.",
        input: { $ref: `${REF}Greeting` },
        inputRequired: true,
        output: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
        example: { name: "Ada", times: 2 },
      }),
      "greet.ts#fireAndForget": fnSchemas("greet.ts#fireAndForget", { returnsValue: false, output: { type: "null" } }),
      "items.ts#list": fnSchemas("items.ts#list", {
        input: { type: "object", properties: { limit: { type: "number" }, tag: { type: "string" } }, required: ["limit"] },
        inputRequired: true,
        output: { type: "array", items: { $ref: `${REF}Item` } },
        example: { limit: 10, tag: "new" },
      }),
      "items.ts#update": fnSchemas("items.ts#update", {
        input: { $ref: `${REF}Item` },
        inputRequired: true,
        output: { $ref: `${REF}Item` },
        example: { id: 1, label: "one" },
        notes: { input: [{ path: "$.callback", reason: "function" }], output: [{ path: "$.callback", reason: "function" }] },
      }),
      "items.ts#remove": fnSchemas("items.ts#remove", { input: { type: "object", properties: { id: { type: "number" } }, required: ["id"] }, inputRequired: true, returnsValue: false }),
    },
    issues: [],
    untyped: { "broken.ts#old": "broken.ts failed to load; its last version is served, whose types are not known" },
  };
  const doc = buildOpenApiDocument(generation, { version: "1", schemas });
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const media = (op: Json): Json => ((op.requestBody as Json).content as Json)["application/json"] as Json;
  const okSchema = (op: Json): Json => ((((op.responses as Json)["200"] as Json).content as Json)["application/json"] as Json).schema as Json;

  it("stays a valid document whose $refs all resolve, with the named types in components.schemas", () => {
    expect(validate(doc)).toEqual([]);
    const components = (doc.components as Json).schemas as Json;
    expect(Object.keys(components)).toEqual(expect.arrayContaining(["Error", "QueueRequest", "QueueResponse", "Greeting", "Item"]));
    expect(doc["x-flash-schemas"]).toEqual({ status: "ready", generation: 7 });
  });

  it("uses the JSDoc summary and description, and types a queue request, its example and its output", () => {
    const op = paths["/greet/greet/run_sync"]!.post!;
    expect(op.summary).toBe("Greets someone.");
    expect(op.description).toContain("Says hello as many times as asked.");
    expect(media(op).schema).toMatchObject({ type: "object", properties: { input: { $ref: `${REF}Greeting` } }, required: ["input"] });
    expect(media(op).example).toEqual({ input: { name: "Ada", times: 2 } });
    expect(okSchema(op)).toMatchObject({ properties: { output: { type: "object", properties: { text: { type: "string" } } } } });
    expect(((op.responses as Json)["422"] as Json).description).toContain("INVALID_INPUT");
    expect(op["x-flash-validated"]).toBe(true);
    // A function that returns nothing has a null output.
    expect(okSchema(paths["/greet/fireAndForget/run_sync"]!.post!)).toMatchObject({ properties: { output: { type: "null" } } });
  });

  it("types a GET's query parameters one by one, with examples, instead of a free-form map", () => {
    const op = paths["/items/items"]!.get!;
    expect(op.parameters).toEqual([
      expect.objectContaining({ name: "limit", in: "query", required: true, schema: { type: "number" }, example: 10 }),
      expect.objectContaining({ name: "tag", in: "query", required: false, schema: { type: "string" }, example: "new" }),
    ]);
    expect(okSchema(op)).toEqual({ type: "array", items: { $ref: `${REF}Item` } });
  });

  it("types path parameters from the input and leaves them out of the body; lists what is not validated", () => {
    const op = paths["/items/items/{id}"]!.put!;
    expect(op.parameters).toEqual([expect.objectContaining({ name: "id", in: "path", required: true, schema: { type: "number" }, example: 1 })]);
    const body = media(op);
    expect(body.schema).toMatchObject({ type: "object", properties: { label: { type: "string" } }, required: ["label"] });
    expect(Object.keys((body.schema as Json).properties as Json)).not.toContain("id");
    expect(body.example).toEqual({ label: "one" });
    expect(op["x-flash-not-validated"]).toEqual([{ path: "$.callback", reason: "function" }]);
    // Returning nothing: 204 only.
    const responses = paths["/items/items/{id}"]!.delete!.responses as Json;
    expect(responses["200"]).toBeUndefined();
    expect(responses["204"]).toBeDefined();
  });

  it("documents a function without usable types as untyped and not validated", () => {
    const op = paths["/broken/old/run_sync"]!.post!;
    expect(op["x-flash-validated"]).toBe(false);
    expect(op["x-flash-untyped"]).toContain("broken.ts failed to load");
    expect(JSON.stringify(op.requestBody)).toContain(`${REF}QueueRequest`);
  });

  it("while the schemas are being computed, documents every route untyped and says so", () => {
    const pending = buildOpenApiDocument(generation, { version: "1", schemas: { status: "pending" } });
    expect(validate(pending)).toEqual([]);
    expect(pending["x-flash-schemas"]).toEqual({ status: "pending", generation: 7 });
    const op = (pending.paths as Record<string, Record<string, Json>>)["/greet/greet/run_sync"]!.post!;
    expect(op.summary).toBe("greet");
    expect(op["x-flash-validated"]).toBe(false);
    expect(buildOpenApiDocument(generation, { version: "1", schemas: { status: "off" } })["x-flash-schemas"]).toEqual({ status: "off", generation: 7 });
    expect(buildOpenApiDocument(generation, { version: "1", schemas: { status: "failed", message: "boom" } })["x-flash-schemas"]).toEqual({
      status: "failed",
      generation: 7,
      message: "boom",
    });
  });
});
