/**
 * Re-extraction after edits: only changed files are parsed again, the
 * previous program's module resolution is kept when that is safe, and the
 * schemas always follow the files on disk.
 */
import { join } from "node:path";
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTypeSchemaExtractor } from "../../../../src/discovery/type-schema/extractor.js";
import type { TypeSchemaExtractor } from "../../../../src/discovery/type-schema/extractor.js";
import type { JsonSchema } from "../../../../src/common/json-schema.js";
import { copyProject, REF, target, writeFile } from "./helpers.js";

const TARGETS = [target("workers/users.ts", "createUser"), target("workers/misc.ts", "text"), target("workers/kinds.ts", "everything")];

let root: string;
let extractor: TypeSchemaExtractor;

beforeAll(() => {
  root = copyProject();
  extractor = createTypeSchemaExtractor({ root });
});
afterAll(() => extractor.dispose());

function edit(rel: string, change: (text: string) => string): void {
  writeFile(root, rel, change(readFileSync(join(root, rel), "utf8")));
}

describe("incremental extraction", () => {
  it("parses only the edited file and keeps the module resolution", () => {
    const first = extractor.extract(TARGETS);
    expect(first.stats.program).toMatchObject({ reusedStructure: false });
    expect(first.stats.program.parsedFiles).toBe(first.stats.program.sourceFiles);
    expect(first.definitions.User!.properties).not.toHaveProperty("nickname");

    edit("models/user.ts", (text) => text.replace("  name: string;", "  name: string;\n  nickname?: string;"));
    const second = extractor.extract(TARGETS, { changedPaths: ["models/user.ts"] });
    expect(second.stats.program).toMatchObject({ parsedFiles: 1, reusedStructure: true, sourceFiles: first.stats.program.sourceFiles });
    expect(second.definitions.User!.properties!.nickname).toEqual({ type: "string" });
  });

  it("resolves modules afresh when a changed path is new to the program", () => {
    writeFile(root, "models/extra.ts", "export interface Extra { flag: boolean }\n");
    edit("workers/misc.ts", (text) => text.replace("async (input: string) => input.length", 'async (input: import("../models/extra.js").Extra) => (input.flag ? 1 : 0)'));
    const set = extractor.extract(TARGETS, { changedPaths: [join(root, "models/extra.ts"), join(root, "workers/misc.ts")] });
    expect(set.stats.program.reusedStructure).toBe(false);
    expect(set.stats.program.parsedFiles).toBe(2);
    expect(set.functions["workers/misc.ts#text"]!.input).toEqual({ $ref: `${REF}Extra` });
    expect(set.definitions.Extra).toEqual({ title: "Extra", type: "object", properties: { flag: { type: "boolean" } }, required: ["flag"] });
  });

  it("notices edits on disk even when not told which files changed", () => {
    edit("models/address.ts", (text) => text.replace("  city: string;", "  city: string;\n  country: string;"));
    const set = extractor.extract(TARGETS);
    expect(set.stats.program).toMatchObject({ parsedFiles: 1, reusedStructure: false });
    expect(set.definitions.Address!.required).toContain("country");
  });

  it("drops a deleted file's types and reports a target whose file is gone", () => {
    rmSync(join(root, "models/extra.ts"));
    const set = extractor.extract([...TARGETS, target("models/extra.ts", "nothing")], { changedPaths: ["models/extra.ts"] });
    // The import no longer resolves: the parameter type is an error type, documented as any.
    expect(set.functions["workers/misc.ts#text"]!.input).toEqual({ "x-flash-any": "any" });
    expect(set.issues).toEqual([{ id: "models/extra.ts#nothing", file: "models/extra.ts", message: "the file could not be read" }]);
  });

  it("keeps working while a file has a syntax error, with what the parser recovers", () => {
    edit("workers/misc.ts", (text) => text.replace("export const text", "export const text = = ;\nexport const text2"));
    const set = extractor.extract(TARGETS, { changedPaths: ["workers/misc.ts"] });
    expect(set.functions["workers/users.ts#createUser"]!.output).toEqual({ $ref: `${REF}User` });
    expect(set.functions["workers/misc.ts#text"]).toBeDefined();
  });
});

describe("carrying over the schemas of functions whose files did not change", () => {
  const ALL = [
    target("workers/users.ts", "createUser"),
    target("workers/users.ts", "listUsers"),
    target("workers/kinds.ts", "everything"),
    target("workers/misc.ts", "text"),
    target("workers/misc.ts", "inferred"),
    target("workers/chat.ts", "Chat", "generate"),
    target("workers/trees.ts", "grow"),
  ];
  let project: string;
  let incremental: TypeSchemaExtractor;
  const fresh = () => {
    const e = createTypeSchemaExtractor({ root: project });
    try {
      return e.extract(ALL);
    } finally {
      e.dispose();
    }
  };
  const change = (rel: string, from: string, to: string): void => {
    const text = readFileSync(join(project, rel), "utf8");
    if (!text.includes(from)) throw new Error(`${rel} does not contain ${from}`);
    writeFile(project, rel, text.replace(from, to));
  };

  beforeAll(() => {
    project = copyProject();
    incremental = createTypeSchemaExtractor({ root: project });
    incremental.extract(ALL);
  });
  afterAll(() => incremental.dispose());

  it("recomputes only the functions whose module closure changed, with the result of a fresh extraction", () => {
    change("workers/misc.ts", "async (input: string) => input.length", "async (input: { s: string }) => input.s.length");
    const set = incremental.extract(ALL, { changedPaths: ["workers/misc.ts"] });
    expect(set.stats.reusedFunctions).toBe(5);
    expect(set.functions["workers/misc.ts#text"]!.input).toEqual({ type: "object", properties: { s: { type: "string" } }, required: ["s"] });
    expect(set).toEqual({ ...fresh(), stats: set.stats });
  });

  it("recomputes the functions that import an edited model, and keeps definition names stable", () => {
    change("models/address.ts", "  city: string;", "  city: string;\n  region?: string;");
    const set = incremental.extract(ALL, { changedPaths: ["models/address.ts"] });
    // users.ts imports user.ts, which imports address.ts; kinds.ts, misc.ts, chat.ts and trees.ts do not.
    expect(set.stats.reusedFunctions).toBe(5);
    expect(set.definitions.Address!.properties!.region).toEqual({ type: "string" });
    expect(set).toEqual({ ...fresh(), stats: set.stats });
  });

  it("refers to a definition carried over from an unchanged function instead of building it again", () => {
    change("workers/trees.ts", "value: input.value + 1", "value: input.value + 2");
    const set = incremental.extract(ALL, { changedPaths: ["workers/trees.ts"] });
    expect(set.stats.reusedFunctions).toBe(6);
    // kinds.ts (carried over) and trees.ts (recomputed) both use TreeNode: one definition.
    expect(set.functions["workers/trees.ts#grow"]!.input).toEqual({ $ref: `${REF}TreeNode` });
    expect(Object.keys(set.definitions).filter((name) => name.startsWith("TreeNode"))).toEqual(["TreeNode"]);
    expect(set).toEqual({ ...fresh(), stats: set.stats });
  });

  it("never carries a definition over to a different type that has the same name", () => {
    const item = (field: string): string => `export interface Item { ${field}: string }\nexport interface Box<T> { items: T[] }\n`;
    const fn = (from: string, name: string): string => `import type { Box, Item } from "${from}";\nexport const ${name} = async (input: Box<Item>) => input.items.length;\n`;
    writeFile(project, "same/a.ts", item("a"));
    writeFile(project, "same/b.ts", item("b"));
    writeFile(project, "same/use-a.ts", fn("./a.js", "useA"));
    writeFile(project, "same/use-b.ts", fn("./b.js", "useB"));
    const targets = [...ALL, target("same/use-a.ts", "useA"), target("same/use-b.ts", "useB")];
    incremental.extract(targets, { changedPaths: ["same"] });
    writeFile(project, "same/use-b.ts", `${fn("./b.js", "useB")}// edited\n`);
    const set = incremental.extract(targets, { changedPaths: ["same/use-b.ts"] });
    expect(set.stats.reusedFunctions).toBe(targets.length - 1);
    const boxOf = (id: string): JsonSchema => set.definitions[set.functions[id]!.input!.$ref!.slice(REF.length)]!;
    const itemOf = (id: string): JsonSchema => set.definitions[(boxOf(id).properties!.items!.items as JsonSchema).$ref!.slice(REF.length)]!;
    expect(Object.keys(itemOf("same/use-a.ts#useA").properties!)).toEqual(["a"]);
    expect(Object.keys(itemOf("same/use-b.ts#useB").properties!)).toEqual(["b"]);
    const e = createTypeSchemaExtractor({ root: project });
    try {
      expect(set).toEqual({ ...e.extract(targets), stats: set.stats });
    } finally {
      e.dispose();
    }
  });

  it("recomputes everything when a changed file declares globals", () => {
    writeFile(project, "types/globals.d.ts", "declare global { interface Window { x: number } }\nexport {};\n");
    // A reference directive counts only at the top of the file.
    change("workers/misc.ts", 'import { remote, CpuLiveServerless } from "flash-ts";', '/// <reference path="../types/globals.d.ts" />\nimport { remote, CpuLiveServerless } from "flash-ts";');
    const first = incremental.extract(ALL, { changedPaths: ["types/globals.d.ts", "workers/misc.ts"] });
    expect(first.stats.reusedFunctions).toBe(0);
    change("types/globals.d.ts", "x: number", "y: number");
    const set = incremental.extract(ALL, { changedPaths: ["types/globals.d.ts"] });
    expect(set.stats.reusedFunctions).toBe(0);
    expect(set).toEqual({ ...fresh(), stats: set.stats });
  });

  it("rereads tsconfig.json when it changes and recomputes everything with the new options", () => {
    // Without strictNullChecks, `string | null` is just string.
    writeFile(project, "tsconfig.json", JSON.stringify({ compilerOptions: { strict: false, allowJs: true, module: "ESNext", moduleResolution: "Bundler" } }));
    const set = incremental.extract(ALL, { changedPaths: ["tsconfig.json"] });
    expect(set.stats).toMatchObject({ reusedFunctions: 0, program: { optionsChanged: true, reusedStructure: false } });
    expect(set.definitions.Address!.properties!.zip).toEqual({ type: "string" });
    expect(set).toEqual({ ...fresh(), stats: set.stats });
  });

  it("recomputes a function with an unresolved import when a file is created", () => {
    change("workers/kinds.ts", 'import type { TreeNode, Json } from "../models/tree.js";', 'import type { TreeNode, Json } from "../models/tree.js";\nimport type { Soon } from "../models/soon.js";');
    change("workers/kinds.ts", "  big: bigint;", "  big: bigint;\n  soon: Soon;");
    const before = incremental.extract(ALL, { changedPaths: ["workers/kinds.ts"] });
    expect(before.definitions.Everything!.properties!.soon).toEqual({ "x-flash-any": "any" });
    writeFile(project, "models/soon.ts", "export interface Soon { ready: boolean }\n");
    const set = incremental.extract(ALL, { changedPaths: ["models/soon.ts"] });
    expect(set.definitions.Everything!.properties!.soon).toEqual({ $ref: `${REF}Soon` });
    expect(set).toEqual({ ...fresh(), stats: set.stats });
  });
});
