/**
 * Finding the function behind each remote export (arrow passed to remote(),
 * a named function, re-exports, default exports, @remote class methods,
 * JavaScript with JSDoc types), its JSDoc, its example input, and what
 * happens when the SDK's own types resolve (tsconfig paths).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTypeSchemaExtractor } from "../../../../src/discovery/type-schema/extractor.js";
import type { SchemaSet, TypeSchemaExtractor } from "../../../../src/discovery/type-schema/extractor.js";
import { REPO_ROOT } from "../../../helpers/paths.js";
import { copyProject, REF, target, writeFile } from "./helpers.js";

const TARGETS = [
  target("workers/users.ts", "createUser"),
  target("workers/misc.ts", "noInput"),
  target("workers/misc.ts", "text"),
  target("workers/misc.ts", "optional"),
  target("workers/misc.ts", "inferred"),
  target("workers/misc.ts", "add"),
  target("workers/misc.ts", "renamed"),
  target("workers/misc.ts", "default"),
  target("workers/chat.ts", "Chat", "generate"),
  target("workers/chat.ts", "Chat", "ping"),
  target("js/plain.js", "square"),
  target("workers/misc.ts", "missing"),
  target("workers/gone.ts", "run"),
];

const extractors: TypeSchemaExtractor[] = [];
afterAll(() => extractors.forEach((e) => e.dispose()));

function extract(root: string): SchemaSet {
  const extractor = createTypeSchemaExtractor({ root, reservedNames: ["Error", "QueueRequest", "QueueResponse"] });
  extractors.push(extractor);
  return extractor.extract(TARGETS);
}

describe("without the SDK's types (flash-ts does not resolve)", () => {
  let set: SchemaSet;
  beforeAll(() => {
    set = extract(copyProject());
  });

  it("reads the function passed last to remote(), with its parameter and awaited return type", () => {
    const fn = set.functions["workers/misc.ts#text"]!;
    expect(fn).toMatchObject({ input: { type: "string" }, inputRequired: true, output: { type: "number" }, returnsValue: true, example: "string" });
  });

  it("infers the return type from the body, a Date in it as a date-time string", () => {
    expect(set.functions["workers/misc.ts#inferred"]!.output).toEqual({
      type: "object",
      properties: { doubled: { type: "number" }, at: { type: "string", format: "date-time", "x-flash-type": "Date" }, label: { type: "string" } },
      required: ["doubled", "at", "label"],
    });
  });

  it("follows a named function, a renamed re-export and a default export", () => {
    expect(set.functions["workers/misc.ts#add"]).toMatchObject({
      summary: "Adds two numbers.",
      input: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] },
      output: { type: "number" },
    });
    expect(set.functions["workers/misc.ts#renamed"]!.input).toEqual({ type: "object", properties: { x: { type: "number" } }, required: ["x"] });
    expect(set.functions["workers/misc.ts#default"]!.input).toEqual({ type: "object", properties: { d: { type: "boolean" } }, required: ["d"] });
  });

  it("says when a function takes no input or returns nothing, and when its input is optional", () => {
    expect(set.functions["workers/misc.ts#noInput"]).toEqual({
      id: "workers/misc.ts#noInput",
      summary: "Takes nothing, returns nothing.",
      input: null,
      inputRequired: false,
      output: { type: "null", description: "The function returns nothing." },
      returnsValue: false,
      notes: { input: [], output: [] },
    });
    expect(set.functions["workers/misc.ts#optional"]).toMatchObject({ inputRequired: false, input: { type: "object", required: ["n"] } });
  });

  it("describes @remote class methods with their own JSDoc", () => {
    expect(set.functions["workers/chat.ts#Chat.generate"]).toMatchObject({
      summary: "Generates a reply.",
      input: { type: "object", properties: { prompt: { type: "string" }, maxTokens: { type: "number" } }, required: ["prompt"] },
      output: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    });
    const ping = set.functions["workers/chat.ts#Chat.ping"]!;
    expect(ping).toMatchObject({ input: null, output: { type: "string", const: "pong" } });
    expect(ping.summary).toBeUndefined();
  });

  it("reads JSDoc types of JavaScript files", () => {
    expect(set.functions["js/plain.js#square"]).toMatchObject({
      summary: "Squares a number.",
      input: { type: "object", properties: { n: { type: "number" }, label: { type: "string" } }, required: ["n"] },
      output: { type: "object", properties: { value: { type: "number" } }, required: ["value"] },
    });
  });

  it("splits the JSDoc into summary and description, takes @param as the input's description and a JSON @example as the example", () => {
    const fn = set.functions["workers/users.ts#createUser"]!;
    expect(fn.summary).toBe("Creates a user.");
    expect(fn.description).toBe("Stores the user and returns it\nwith its new id.");
    expect(fn.input!.description).toBe("the user to create");
    expect(fn.example).toEqual({ user: { name: "Ada", role: "admin", tags: [], createdAt: "2024-05-01T10:00:00.000Z" } });
  });

  it("builds an example from the schema when there is no @example", () => {
    expect(set.functions["workers/chat.ts#Chat.generate"]!.example).toEqual({ prompt: "string", maxTokens: 0 });
    expect(set.functions["workers/misc.ts#noInput"]!.example).toBeUndefined();
  });

  it("reports exports it cannot find as issues and gives them any-schemas", () => {
    expect(set.issues).toEqual([
      { id: "workers/gone.ts#run", file: "workers/gone.ts", message: "the file could not be read" },
      { id: "workers/misc.ts#missing", file: "workers/misc.ts", message: 'the file has no export named "missing"' },
    ]);
    expect(set.functions["workers/misc.ts#missing"]).toMatchObject({ input: { "x-flash-any": "no schema" }, output: { "x-flash-any": "no schema" } });
  });
});

describe("with the SDK's types (tsconfig paths to flash-ts)", () => {
  it("gives the same schemas, reads a wrapper's RemoteFunction type when no function literal is in sight, and keeps reserved names free", () => {
    const root = copyProject();
    writeFile(
      root,
      "tsconfig.json",
      JSON.stringify({
        compilerOptions: { target: "ES2023", module: "ESNext", moduleResolution: "Bundler", strict: true, allowJs: true, paths: { "flash-ts": [join(REPO_ROOT, "src", "sdk", "index.ts")] } },
      }),
    );
    // A user type named like one of the document's own components.
    writeFile(root, "workers/errors.ts", 'import { remote, CpuLiveServerless } from "flash-ts";\nexport interface Error { code: string }\nexport const fail = remote(new CpuLiveServerless({ name: "e" }), async (input: Error) => input.code);\n');
    const extractor = createTypeSchemaExtractor({ root, reservedNames: ["Error"] });
    extractors.push(extractor);
    const typed = extractor.extract([...TARGETS, target("workers/errors.ts", "fail"), target("workers/misc.ts", "built"), target("workers/misc.ts", "builtNothing")]);
    const untyped = extract(copyProject());
    for (const id of ["workers/users.ts#createUser", "workers/misc.ts#text", "workers/misc.ts#add", "workers/chat.ts#Chat.generate", "js/plain.js#square"]) {
      expect(typed.functions[id], id).toEqual(untyped.functions[id]);
    }
    expect(typed.functions["workers/misc.ts#built"]).toMatchObject({ input: { type: "object", properties: { k: { type: "string" } }, required: ["k"] }, output: { type: "number" } });
    expect(typed.functions["workers/misc.ts#builtNothing"]).toMatchObject({ input: null, inputRequired: false, output: { type: "number" } });
    expect(typed.issues).toEqual(untyped.issues);
    expect(typed.functions["workers/errors.ts#fail"]!.input).toEqual({ $ref: `${REF}Error_2` });
    expect(typed.definitions.Error).toBeUndefined();
  });
});
